package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/parity-ci/parity/testjson"
)

// The decision procedure. Every word the report says about a row —
// divergent, order-dependent, "fails after X", confirmed — is the outcome
// of a hypothesis test on re-runs made under equal conditions, at a stated
// level, corrected for the hypotheses, looks and rows it was one of:
//
//   - The first run is a screen. It picks the rows to re-run and the
//     hypotheses to test, and is never part of a test: the cell picked
//     because it failed cannot bias the answer.
//   - Divergent: the row's alone re-runs, the same number in every cell,
//     compared group against rest by a one-sided Fisher exact test, for the
//     few groups the screen proposes (per axis, the value whose cells failed
//     most; and the failing cells themselves). Looks at Looks(...) runs per
//     cell; Bonferroni over the groups and the looks.
//   - Order-dependent: with-siblings re-runs against alone re-runs made in
//     the same rounds, in the cells where the first run failed and the first
//     alone re-runs passed, by a stratified exact test (one stratum a cell).
//   - Culprit: after order dependence is decided, bisection finds a
//     candidate; it is named only when CulpritRuns runs with it alone fail
//     significantly more than CulpritRuns runs alone made beside them.
//   - Confirmed: an experiment's N runs against N unchanged runs (the
//     control arm) made in the same rounds; Bonferroni over the experiments.
//
// Each claim is made at RowAlpha per row at most, and FamilyAlpha over the
// report (Bonferroni across the rows that claim was tested for).

// Levels of the decision procedure.
const (
	// FamilyAlpha bounds, per claim, the chance that any row of a report
	// makes it falsely.
	FamilyAlpha = 0.05
	// RowAlpha bounds, per claim, the chance that one row makes it falsely.
	RowAlpha = 0.01
	// LookStep is how many alone runs per cell each further look adds.
	LookStep = 2
	// CulpritRuns is how many runs with the bisection's candidate, and how
	// many alone beside them, decide whether it is named.
	CulpritRuns = 5
	// MaxArmRuns bounds an experiment's runs (and its control's).
	MaxArmRuns = 20
	// ArmPower is the power an experiment's run count is chosen for.
	ArmPower = 0.9
	// Alpha is RowAlpha, the level a single row's claim is made at.
	Alpha = RowAlpha
)

// Method names the procedure in reports and docs.
const Method = "first run as a screen; re-runs under equal conditions; one-sided exact tests; Bonferroni over hypotheses, looks, experiments and rows"

// rowAlpha is the level of one row's claim when n rows were tested for it.
func rowAlpha(n int) float64 { return min(RowAlpha, FamilyAlpha/float64(max(n, 1))) }

// Looks are the numbers of alone re-runs per cell at which a divergence
// is tested: --reruns, then LookStep more at a time up to --reruns-max.
// None with --reruns 0.
func Looks(reruns, rerunsMax int) []int {
	if reruns <= 0 {
		return nil
	}
	out := []int{reruns}
	for n := reruns; n < rerunsMax; {
		n = min(n+LookStep, rerunsMax)
		out = append(out, n)
	}
	return out
}

// OrderLooks are the numbers of with-siblings runs (and as many alone
// runs after the first --reruns) per cell at which order dependence is
// tested.
func OrderLooks(reruns, rerunsMax int) []int {
	if reruns <= 0 {
		return nil
	}
	top := max(LookStep, rerunsMax-reruns)
	var out []int
	for n := LookStep; ; n += LookStep {
		n = min(n, top)
		out = append(out, n)
		if n == top {
			return out
		}
	}
}

// RunKind says under which conditions a re-run ran.
type RunKind string

const (
	// RunAlone: the test alone (-run its name) in a fresh container; for a
	// package row, its package with the first run's flags.
	RunAlone RunKind = "alone"
	// RunSiblings: the test's whole package, the first run's flags and
	// -shuffle seed.
	RunSiblings RunKind = "siblings"
	// RunProbe: a bisection step, the test with some siblings only.
	RunProbe RunKind = "probe"
	// RunCulprit: the test with the bisection's candidate alone;
	// RunCulpritControl: the test alone, in the same round.
	RunCulprit        RunKind = "culprit"
	RunCulpritControl RunKind = "culprit-control"
	// RunControl: an experiment's control arm, the test unchanged and
	// alone; RunExperiment: one experiment's arm.
	RunControl    RunKind = "control"
	RunExperiment RunKind = "experiment"
)

// Rerun is one re-run of a row in a cell.
type Rerun struct {
	Kind RunKind `json:"kind"`
	// Index numbers the row's runs of the kind in the cell from 1 (per
	// experiment for RunExperiment): what a plan asks for, so a run is
	// never counted twice.
	Index   int              `json:"index"`
	Outcome testjson.Outcome `json:"outcome"` // not-run when the run gave the test no outcome
	// Siblings, for probes and culprit runs: the only siblings that ran
	// with the test.
	Siblings []string `json:"siblings,omitempty"`
	// Experiments: the experiment's id, its description (completing
	// "passes with ..."), its place in the table, and the passing cell its
	// factor was flipped towards (controls too).
	Trial       string `json:"trial,omitempty"`
	Description string `json:"description,omitempty"`
	Rank        int    `json:"rank,omitempty"`
	Towards     string `json:"towards,omitempty"`
	// Error says why the run gave the test no outcome.
	Error string `json:"error,omitempty"`
}

// rerunKey identifies a re-run within its result: merge refuses two with
// one.
type rerunKey struct {
	kind     RunKind
	trial    string
	index    int
	siblings string
}

func (r Rerun) key() rerunKey {
	k := rerunKey{kind: r.Kind, trial: r.Trial, index: r.Index}
	if len(r.Siblings) > 0 {
		k.siblings = strings.Join(r.Siblings, ",")
	}
	return k
}

// Decision is one claim tested for a row, and how.
type Decision struct {
	Claim string `json:"claim"` // divergent, order-dependent, culprit, confirmed
	Holds bool   `json:"holds"` // the test rejected its null hypothesis
	// Hypothesis is what was tested, in words; Subject what the claim
	// names (the sibling a culprit test names, the experiment confirmed).
	Hypothesis string `json:"hypothesis,omitempty"`
	Subject    string `json:"subject,omitempty"`
	Test       string `json:"test"`
	// Method is the correction: what the claim's level was split over.
	Method string `json:"method"`
	// Alpha is the claim's level for this row; Threshold the p-value bound
	// at the look that decided (Alpha split over hypotheses and looks).
	Alpha     float64 `json:"alpha,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	PValue    float64 `json:"pValue,omitempty"`
	// Look of Looks decided it; Runs is the runs per cell (or per arm) it
	// used.
	Look  int `json:"look,omitempty"`
	Looks int `json:"looks,omitempty"`
	Runs  int `json:"runs,omitempty"`
}

// Text is the decision in one line: "one-sided Fisher exact test p =
// 0.0004 ≤ 0.002: 0.01 over 1 hypothesis × 5 looks".
func (d Decision) Text() string {
	rel := "≤"
	if !d.Holds {
		rel = ">"
	}
	return fmt.Sprintf("%s p = %s %s %s: %s", d.Test, pFormat(d.PValue), rel, pFormat(d.Threshold), d.Method)
}

func pFormat(p float64) string {
	switch {
	case p >= 0.01:
		return fmt.Sprintf("%.3g", p)
	case p == 0:
		return "0"
	}
	return fmt.Sprintf("%.2g", p)
}

const (
	testFisher     = "one-sided Fisher exact test"
	testStratified = "one-sided stratified exact test"
)

// sortedRuns returns a result's re-runs of the kind, by index.
func sortedRuns(res Result, kind RunKind) []Rerun {
	var out []Rerun
	for _, r := range res.Reruns {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Rerun) int { return a.Index - b.Index })
	return out
}

// firstRuns is the first run's outcomes (one per -count).
func firstRuns(res Result) []testjson.Outcome {
	if len(res.Runs) > 0 {
		return res.Runs
	}
	return []testjson.Outcome{res.Outcome}
}

// tally counts failures and runs that gave an outcome.
func tally(runs []Rerun) (fail, ran int) {
	for _, r := range runs {
		if r.Outcome.Ran() {
			ran++
			if r.Outcome.Failed() {
				fail++
			}
		}
	}
	return fail, ran
}

// hypothesis is one group of cells that may fail more often than the rest.
type hypothesis struct {
	axis, value string // "" for the group of cells that failed in the screen
	cells       []string
}

func (h hypothesis) text() string {
	if h.axis != "" {
		return fmt.Sprintf("the %s=%s cells fail more often than the others", h.axis, h.value)
	}
	return fmt.Sprintf("%s fail%s more often than the others", strings.Join(h.cells, ", "), map[bool]string{true: "s", false: ""}[len(h.cells) == 1])
}

// divergenceTest is the state of a row's divergence test.
type divergenceTest struct {
	participants []Result // compared cells that failed or passed in the screen
	hyps         []hypothesis
	looks        []int
	alpha        float64
	// next is the alone runs per cell the next look needs; 0 once decided.
	next    int
	decided bool
	holds   bool
	look    int // the look that decided (1-based), or the last one made
	best    hypothesis
	p, t    float64
}

// screen reads the first run: the compared cells that failed, and those
// that passed (a cell that only skipped takes no part in failure rates).
func screen(row TestRow, compared map[string]Cell) (failed, passed []Result) {
	for _, res := range row.Results {
		if _, ok := compared[res.Cell]; !ok || !res.Outcome.Ran() {
			continue
		}
		runs := firstRuns(res)
		switch {
		case slices.ContainsFunc(runs, testjson.Outcome.Failed):
			failed = append(failed, res)
		case slices.Contains(runs, testjson.Pass):
			passed = append(passed, res)
		}
	}
	return failed, passed
}

// partition is an axis's grouping of cells, as a comparable string.
func partition(axis string, cells []string, compared map[string]Cell) string {
	groups := map[string][]string{}
	for _, c := range cells {
		v := AxisValue(compared[c], axis)
		groups[v] = append(groups[v], c)
	}
	var parts []string
	for _, g := range groups {
		parts = append(parts, strings.Join(g, ","))
	}
	slices.Sort(parts)
	return strings.Join(parts, "|")
}

// axesOf lists the axes that take two values or more over the cells,
// without race where it only follows another axis (race is off in
// emulated cells: the arch says it first).
func axesOf(cells []string, compared map[string]Cell) []string {
	var out []string
	for _, axis := range AxisNames {
		values := map[string]bool{}
		for _, c := range cells {
			values[AxisValue(compared[c], axis)] = true
		}
		if len(values) < 2 {
			continue
		}
		if axis == AxisRace && slices.ContainsFunc(out, func(a string) bool {
			return partition(a, cells, compared) == partition(AxisRace, cells, compared)
		}) {
			continue
		}
		out = append(out, axis)
	}
	return out
}

// propose turns the screen into hypotheses: per axis, the value whose
// cells failed most often in the first run (none on a tie), and the group
// of cells that failed, when it is no axis value's.
func propose(failed, passed []Result, compared map[string]Cell) []hypothesis {
	if len(failed) == 0 || len(passed) == 0 {
		return nil
	}
	var cells, failing []string
	isFailed := map[string]bool{}
	for _, r := range failed {
		failing = append(failing, r.Cell)
		isFailed[r.Cell] = true
	}
	for _, r := range append(slices.Clone(failed), passed...) {
		cells = append(cells, r.Cell)
	}
	slices.Sort(cells)
	slices.Sort(failing)
	var hyps []hypothesis
	seen := map[string]bool{}
	add := func(h hypothesis) {
		slices.Sort(h.cells)
		k := strings.Join(h.cells, ",")
		if !seen[k] && len(h.cells) < len(cells) {
			seen[k] = true
			hyps = append(hyps, h)
		}
	}
	for _, axis := range axesOf(cells, compared) {
		byValue := map[string][]string{}
		for _, c := range cells {
			v := AxisValue(compared[c], axis)
			byValue[v] = append(byValue[v], c)
		}
		best, bestRate, tie := "", -1.0, false
		for _, v := range slices.Sorted(mapKeys(byValue)) {
			n := 0
			for _, c := range byValue[v] {
				if isFailed[c] {
					n++
				}
			}
			rate := float64(n) / float64(len(byValue[v]))
			switch {
			case rate > bestRate:
				best, bestRate, tie = v, rate, false
			case rate == bestRate:
				tie = true
			}
		}
		if !tie {
			add(hypothesis{axis: axis, value: best, cells: slices.Clone(byValue[best])})
		}
	}
	add(hypothesis{cells: failing})
	return hyps
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// groupTally counts the first n alone runs (alone, by participant) of the
// cells in and out of h.
func groupTally(parts []Result, alone [][]Rerun, h hypothesis, n int) (a, na, b, nb int) {
	for i, res := range parts {
		runs := alone[i]
		if len(runs) > n {
			runs = runs[:n]
		}
		f, r := tally(runs)
		if slices.Contains(h.cells, res.Cell) {
			a, na = a+f, na+r
		} else {
			b, nb = b+f, nb+r
		}
	}
	return
}

// decideDivergence runs the sequential test on the row's alone re-runs.
func decideDivergence(row TestRow, compared map[string]Cell, looks []int, alpha float64) divergenceTest {
	failed, passed := screen(row, compared)
	d := divergenceTest{participants: append(slices.Clone(failed), passed...), looks: looks, alpha: alpha}
	if len(failed) == 0 || len(looks) == 0 {
		d.decided = true
		return d
	}
	d.hyps = propose(failed, passed, compared)
	alone := make([][]Rerun, len(d.participants))
	for i, res := range d.participants {
		alone[i] = sortedRuns(res, RunAlone)
	}
	made := func(n int) bool {
		for _, runs := range alone {
			if len(runs) < n {
				return false
			}
		}
		return true
	}
	if len(d.hyps) == 0 {
		// Failed in every cell: the first look's runs tell failing from
		// flaky; there is nothing to compare.
		if !made(looks[0]) {
			d.next = looks[0]
			return d
		}
		d.decided = true
		return d
	}
	d.t = alpha / float64(len(looks)*len(d.hyps))
	for k, n := range looks {
		if !made(n) {
			d.next = n
			return d
		}
		d.look = k + 1
		bestP, futile := 2.0, true
		for _, h := range d.hyps {
			a, na, b, nb := groupTally(d.participants, alone, h, n)
			p := FisherOneSided(a, na, b, nb)
			if p < bestP {
				bestP, d.best = p, h
			}
			// Futility: only a group that fails more often than the rest
			// can still become significant at a later look. At the first
			// look, no failure alone anywhere is no evidence either way.
			if na > 0 && nb > 0 && (a*nb > b*na || k == 0 && a == 0 && b == 0) {
				futile = false
			}
		}
		d.p = bestP
		if bestP <= d.t {
			d.decided, d.holds = true, true
			return d
		}
		if futile {
			break
		}
	}
	d.decided = true
	return d
}

// decision is the divergence test as a Decision.
func (d divergenceTest) decision() Decision {
	return Decision{
		Claim: "divergent", Holds: d.holds, Hypothesis: d.best.text(), Test: testFisher,
		Method: fmt.Sprintf("%s over %s × %s", pFormat(d.alpha), plural(len(d.hyps), "hypothesis"), plural(len(d.looks), "look")),
		Alpha:  d.alpha, Threshold: d.t, PValue: d.p, Look: d.look, Looks: len(d.looks), Runs: d.looks[max(d.look-1, 0)],
	}
}

// orderTest is the state of a row's order-dependence test.
type orderTest struct {
	cells      []string // candidates: failed with siblings, then passed every early run alone
	looks      []int
	reruns     int
	alpha, t   float64
	nextSib    int // with-siblings runs per candidate cell the next look needs
	nextAlone  int // alone runs per candidate cell it needs
	decided    bool
	holds      bool
	look       int
	p          float64
	sibFail    int
	sibRuns    int
	aloneFail  int
	aloneRuns  int
	candidates bool
}

// orderCandidates are the cells where the row failed in the first run
// and passed each of its first reruns alone runs. ready is false while
// those runs are not all made.
func orderCandidates(row TestRow, compared map[string]Cell, reruns int) (cells []string, ready bool) {
	if row.IsPackage() || reruns <= 0 {
		return nil, true
	}
	failed, _ := screen(row, compared)
	ready = true
	for _, res := range failed {
		alone := sortedRuns(res, RunAlone)
		if len(alone) < reruns {
			ready = false
			continue
		}
		alone = alone[:reruns]
		if !slices.ContainsFunc(alone, func(r Rerun) bool { return r.Outcome.Failed() || !r.Outcome.Ran() }) {
			cells = append(cells, res.Cell)
		}
	}
	return cells, ready
}

func decideOrder(row TestRow, cells []string, looks []int, reruns int, alpha float64) orderTest {
	o := orderTest{cells: cells, looks: looks, reruns: reruns, alpha: alpha, candidates: len(cells) > 0}
	if len(cells) == 0 || len(looks) == 0 {
		o.decided = true
		return o
	}
	o.t = alpha / float64(len(looks))
	for k, w := range looks {
		var strata []Stratum
		o.sibFail, o.sibRuns, o.aloneFail, o.aloneRuns = 0, 0, 0, 0
		for _, c := range cells {
			res, _ := row.Result(c)
			sib, alone := sortedRuns(res, RunSiblings), sortedRuns(res, RunAlone)
			if len(sib) < w || len(alone) < reruns+w {
				o.nextSib, o.nextAlone = w, reruns+w
				return o
			}
			sf, sr := tally(sib[:w])
			af, ar := tally(alone[reruns : reruns+w])
			strata = append(strata, Stratum{FailA: sf, RunsA: sr, FailB: af, RunsB: ar})
			o.sibFail, o.sibRuns, o.aloneFail, o.aloneRuns = o.sibFail+sf, o.sibRuns+sr, o.aloneFail+af, o.aloneRuns+ar
		}
		o.look = k + 1
		o.p = StratifiedOneSided(strata)
		if o.p <= o.t {
			o.decided, o.holds = true, true
			return o
		}
		// Futility: with its siblings it failed no more often than alone
		// (at the first look, failing neither way is no evidence yet).
		if o.sibFail*max(o.aloneRuns, 1) <= o.aloneFail*max(o.sibRuns, 1) && (k > 0 || o.sibFail+o.aloneFail > 0) {
			break
		}
	}
	o.decided = true
	return o
}

func (o orderTest) decision() Decision {
	return Decision{
		Claim: "order-dependent", Holds: o.holds, Test: testStratified,
		Hypothesis: fmt.Sprintf("fails more often with its siblings (its package, the first run's flags and seed) than alone, in %s", strings.Join(o.cells, ", ")),
		Method:     fmt.Sprintf("%s over %s", pFormat(o.alpha), plural(len(o.looks), "look")),
		Alpha:      o.alpha, Threshold: o.t, PValue: o.p, Look: o.look, Looks: len(o.looks), Runs: o.looks[max(o.look-1, 0)],
	}
}

// culpritTest is a bisection and the test of the sibling it found.
type culpritTest struct {
	cell      string
	next      []string // the next probe's siblings (nil: none)
	candidate string   // the sibling the probes point at
	need      bool     // the candidate's runs are not all made
	holds     bool
	decision  Decision
}

// decideCulprit follows a bisection in the cell and tests its candidate:
// CulpritRuns runs with the candidate alone against as many alone.
func decideCulprit(rows []TestRow, row TestRow, cell string) culpritTest {
	c := culpritTest{cell: cell}
	res, _ := row.Result(cell)
	var probes []Probe
	for _, p := range sortedRuns(res, RunProbe) {
		probes = append(probes, Probe{Siblings: p.Siblings, Outcome: p.Outcome})
	}
	next, cand, done := Bisect(Siblings(rows, row, cell), probes)
	if !done {
		c.next = next
		return c
	}
	if cand == "" {
		return c
	}
	c.candidate = cand
	with, alone := sortedRuns(res, RunCulprit), sortedRuns(res, RunCulpritControl)
	if len(with) < CulpritRuns || len(alone) < CulpritRuns {
		c.need = true
		return c
	}
	wf, wr := tally(with[:CulpritRuns])
	af, ar := tally(alone[:CulpritRuns])
	p := FisherOneSided(wf, wr, af, ar)
	c.holds = p <= RowAlpha
	c.decision = Decision{
		Claim: "culprit", Holds: c.holds, Test: testFisher, Subject: cand,
		Hypothesis: fmt.Sprintf("fails more often after %s alone than alone (%d of %d against %d of %d, in %s)", cand, wf, wr, af, ar, cell),
		Method:     fmt.Sprintf("%s; at most %d rows are bisected", pFormat(RowAlpha), MaxBisected),
		Alpha:      RowAlpha, Threshold: RowAlpha, PValue: p, Runs: CulpritRuns,
	}
	return c
}

// MaxBisected bounds how many order-dependent rows a report bisects.
const MaxBisected = 3

// ArmRuns is how many runs an experiment (and its control) makes: the
// fewest, at most MaxArmRuns, for which an experiment that removes the
// failure is confirmed with probability ArmPower when the control fails at
// the rate the alone re-runs show (failures/runs, shrunk towards a half so
// that a few runs are not taken for certainty), at level alpha/experiments.
func ArmRuns(failures, runs, experiments int, alpha float64) int {
	rate := (float64(failures) + 0.5) / (float64(runs) + 1)
	t := alpha / float64(max(experiments, 1))
	for n := 3; n <= MaxArmRuns; n++ {
		if armPower(n, rate, t) >= ArmPower {
			return n
		}
	}
	return MaxArmRuns
}

// armPower is the chance that control failures X ~ Bin(n, rate) against an
// arm that never fails give FisherOneSided(X, n, 0, n) ≤ t.
func armPower(n int, rate, t float64) float64 {
	power := 0.0
	for x := 0; x <= n; x++ {
		if FisherOneSided(x, n, 0, n) <= t {
			power += math.Exp(lchoose(n, x)) * math.Pow(rate, float64(x)) * math.Pow(1-rate, float64(n-x))
		}
	}
	return power
}

// ArmAlive reports whether an experiment that failed fails of its runs so
// far can still be confirmed after n runs: even with the control failing
// all n and every remaining run passing.
func ArmAlive(fails, n, experiments int, alpha float64) bool {
	return FisherOneSided(n, n, fails, n) <= alpha/float64(max(experiments, 1))
}

package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parity-ci/parity/testjson"
)

// assessment is every row's tests, from all of the report's runs: what
// finish labels rows with and what Needs plans next.
type assessment struct {
	compared   map[string]Cell
	looks      []int
	orderLooks []int
	rows       []rowState // parallel to the report's Tests
}

type rowState struct {
	div   divergenceTest
	order orderTest
	// orderReady: the alone runs that pick the order test's cells are made.
	orderReady bool
	budget     *Cause // the order test held, and the package ran out of -timeout
	culprit    *culpritTest
	// aloneUsed and sibUsed are how many of each result's alone and
	// with-siblings runs the decisions read (0: all). A run made beyond
	// them (a merge's recheck asks for every look at once) changes no
	// word: the procedure stopped before it.
	aloneUsed, sibUsed int
}

// used works out how many alone and with-siblings runs the row's tests
// read: up to the look that decided each.
func (st *rowState) used(looks, orderLooks []int, reruns int) {
	if len(looks) == 0 {
		return
	}
	switch {
	case !st.div.decided:
		return // still running: everything made so far
	case st.div.look > 0:
		st.aloneUsed = looks[st.div.look-1]
	default:
		st.aloneUsed = looks[0]
	}
	if st.order.candidates {
		if !st.order.decided {
			st.aloneUsed, st.sibUsed = 0, 0
			return
		}
		if st.order.look > 0 {
			w := orderLooks[st.order.look-1]
			st.aloneUsed, st.sibUsed = max(st.aloneUsed, reruns+w), w
		}
	}
}

// trimmed returns the result with only the alone and with-siblings runs
// the decisions read.
func (st rowState) trimmed(res Result) Result {
	if st.aloneUsed == 0 && st.sibUsed == 0 {
		return res
	}
	var keep []Rerun
	for _, r := range res.Reruns {
		switch {
		case r.Kind == RunAlone && st.aloneUsed > 0 && r.Index > st.aloneUsed:
		case r.Kind == RunSiblings && st.sibUsed > 0 && r.Index > st.sibUsed:
		default:
			keep = append(keep, r)
		}
	}
	res.Reruns = keep
	return res
}

func comparedCells(r Report) map[string]Cell {
	compared := map[string]Cell{}
	for _, c := range r.Cells {
		if c.Status.Compared() {
			compared[c.Name] = c
		}
	}
	return compared
}

// assess runs every row's tests. Each claim's level per row is RowAlpha,
// or FamilyAlpha over the rows it was tested for when that is smaller.
func assess(r Report) assessment {
	a := assessment{
		compared:   comparedCells(r),
		looks:      Looks(r.Options.Reruns, max(r.Options.Reruns, r.Options.RerunsMax)),
		orderLooks: OrderLooks(r.Options.Reruns, max(r.Options.Reruns, r.Options.RerunsMax)),
		rows:       make([]rowState, len(r.Tests)),
	}
	tested := 0
	for _, row := range r.Tests {
		if failed, passed := screen(row, a.compared); len(propose(failed, passed, a.compared)) > 0 {
			tested++
		}
	}
	divAlpha := rowAlpha(tested)
	cands := make([][]string, len(r.Tests))
	ordered := 0
	for i, row := range r.Tests {
		st := &a.rows[i]
		st.div = decideDivergence(row, a.compared, a.looks, divAlpha)
		if st.div.holds {
			st.orderReady = true
			continue
		}
		cands[i], st.orderReady = orderCandidates(row, a.compared, r.Options.Reruns)
		if len(cands[i]) > 0 {
			ordered++
		}
	}
	orderAlpha := rowAlpha(ordered)
	bisected := 0
	for i, row := range r.Tests {
		st := &a.rows[i]
		if st.div.holds || !st.orderReady {
			st.order.decided = st.div.holds
			continue
		}
		st.order = decideOrder(row, cands[i], a.orderLooks, r.Options.Reruns, orderAlpha)
		if !st.order.holds {
			continue
		}
		if c, ok := budgetCause(r, row, st.order.cells); ok {
			st.budget = &c
			continue
		}
		// Top-level tests only: a subtest runs with its parent's siblings.
		if strings.Contains(row.Test, "/") || bisected == MaxBisected {
			continue
		}
		bisected++
		c := decideCulprit(r.Tests, row, st.order.cells[0])
		st.culprit = &c
	}
	for i := range a.rows {
		a.rows[i].used(a.looks, a.orderLooks, r.Options.Reruns)
	}
	return a
}

// Need is one re-run the decision procedure asks for.
type Need struct {
	Package  string   `json:"package"`
	Test     string   `json:"test"`
	Cell     string   `json:"cell"`
	Kind     RunKind  `json:"kind"`
	Index    int      `json:"index"`
	Siblings []string `json:"siblings,omitempty"` // probes and culprit runs: the only siblings with it
}

// Pace says how far ahead Needs plans the looks of a test.
type Pace int

const (
	// NextLook asks for the runs of the next look only: a run that sees
	// each look's results (parity test) stops as soon as a test decides.
	NextLook Pace = iota
	// AllLooks asks for every run up to a test's last look at once: for a
	// recheck stage on machines of their own, which cannot wait for the
	// other cells' runs between looks. The decisions read the runs look by
	// look and stop where NextLook would have: the runs beyond change no
	// word.
	AllLooks
)

// Needs lists the re-runs the report's undecided rows ask for next, row by
// row in report order: alone runs up to the next look (or all looks) in
// every compared cell, with-siblings and alone runs for the order test,
// the next bisection probe, the runs that test a culprit. Experiments are
// planned apart (package recheck), once no row needs more.
func Needs(r Report, pace Pace) []Need { return assess(r).needs(r, pace) }

func (a assessment) needs(r Report, pace Pace) []Need {
	var out []Need
	upTo := func(row TestRow, res Result, kind RunKind, n int, sibs []string) {
		have := len(sortedRuns(res, kind))
		for i := have + 1; i <= n; i++ {
			out = append(out, Need{Package: row.Package, Test: row.Test, Cell: res.Cell, Kind: kind, Index: i, Siblings: sibs})
		}
	}
	for i, row := range r.Tests {
		st := a.rows[i]
		if !st.div.decided {
			next := st.div.next
			if pace == AllLooks && len(st.div.hyps) > 0 {
				next = a.looks[len(a.looks)-1]
			}
			for _, res := range st.div.participants {
				upTo(row, res, RunAlone, next, nil)
			}
		}
		if !st.order.decided && st.order.nextSib > 0 {
			sib, alone := st.order.nextSib, st.order.nextAlone
			if pace == AllLooks {
				sib = a.orderLooks[len(a.orderLooks)-1]
				alone = r.Options.Reruns + sib
			}
			for _, c := range st.order.cells {
				res, _ := row.Result(c)
				upTo(row, res, RunSiblings, sib, nil)
				upTo(row, res, RunAlone, alone, nil)
			}
		}
		if c := st.culprit; c != nil {
			res, _ := row.Result(c.cell)
			switch {
			case c.next != nil:
				upTo(row, res, RunProbe, len(sortedRuns(res, RunProbe))+1, c.next)
			case c.need:
				upTo(row, res, RunCulprit, CulpritRuns, []string{c.candidate})
				upTo(row, res, RunCulpritControl, CulpritRuns, nil)
			}
		}
	}
	// One need per run: a row's alone runs may be asked for by two tests.
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(n Need) bool {
		k := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%d", n.Package, n.Test, n.Cell, n.Kind, n.Index)
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	})
}

// label sets the row's words from its tests, most telling first:
// divergent, order-dependent (or out of the -timeout budget), flaky,
// failing; a row that only passed and skipped may still differ between
// cells (a mild divergence, which fails nothing).
func (a assessment) label(row *TestRow, st rowState, rows []TestRow) (Divergence, bool) {
	row.Failed, row.Flaky, row.Divergent, row.OrderDependent, row.Cause = false, false, false, false, nil
	row.ViaSubtests, row.Decisions = false, nil
	for j := range row.Results {
		row.Results[j].Flaky, row.Results[j].OrderDependent = false, false
		row.Results[j].plain = nil
		row.Results[j].plain = allRuns(st.trimmed(row.Results[j]))
	}
	if st.div.decided && len(st.div.hyps) > 0 {
		row.Decisions = append(row.Decisions, st.div.decision())
	}
	if st.order.decided && st.order.candidates {
		row.Decisions = append(row.Decisions, st.order.decision())
	}
	if st.culprit != nil && st.culprit.decision.Claim != "" {
		row.Decisions = append(row.Decisions, st.culprit.decision)
	}
	if c, ok := raceFailure(*row, a.compared, rows); ok {
		// A data race is the code's failure, not the platform's: the cells
		// without -race, where it passed, do not diverge from it.
		row.Failed, row.Cause = true, &c
		return Divergence{}, false
	}
	if len(a.looks) == 0 {
		return a.labelOneRun(row)
	}
	if st.div.holds {
		d := a.divergence(*row, st.div)
		row.Divergent = true
		c := d.Cause
		row.Cause = &c
		return d, true
	}
	if st.order.holds {
		for j := range row.Results {
			if slices.Contains(st.order.cells, row.Results[j].Cell) {
				row.Results[j].OrderDependent = true
			}
		}
		row.Failed = true
		if st.budget != nil {
			row.Cause = st.budget
			return Divergence{}, false
		}
		row.OrderDependent = true
		c := orderCause(*row, st)
		row.Cause = &c
		return Divergence{}, false
	}
	var alwaysFails, passes []string
	for j, res := range row.Results {
		if _, ok := a.compared[res.Cell]; !ok || !res.Outcome.Ran() {
			if res.Outcome.Failed() {
				alwaysFails = append(alwaysFails, res.Cell) // a cell cut short: its failure stands, uncompared
			}
			continue
		}
		runs := allRuns(res)
		switch {
		case varies(res):
			row.Results[j].Flaky = true
			row.Flaky = true
		case slices.ContainsFunc(runs, testjson.Outcome.Failed):
			alwaysFails = append(alwaysFails, res.Cell)
		case slices.Contains(runs, testjson.Pass):
			passes = append(passes, res.Cell)
		}
	}
	switch {
	case row.Flaky:
		c := flakyCause
		row.Cause = &c
	case len(alwaysFails) > 0:
		row.Failed = true
		c := diagnoseFailure(*row, a.compared)
		if len(passes) > 0 {
			c = partialCause(c, alwaysFails, passes, st.div)
		}
		row.Cause = &c
	default:
		// Only passes and skips: a difference is reported, fails nothing.
		if d, ok := diverge(*row, a.compared); ok && d.Mild {
			d.Decision = skippedDecision
			return d, true
		}
	}
	return Divergence{}, false
}

// skippedDecision is a pass against a skip: told as seen, never tested.
var skippedDecision = Decision{Claim: "skipped", Test: "none", Hypothesis: "passes in some cells, skips in others", Method: "the first run's outcomes: a skip is the test's own decision, and fails nothing"}

// labelOneRun labels a row with --reruns 0: its first run is all there
// is, so a difference between cells is told as seen, with no test.
func (a assessment) labelOneRun(row *TestRow) (Divergence, bool) {
	for j, res := range row.Results {
		if varies(res) {
			row.Results[j].Flaky, row.Flaky = true, true
		}
	}
	if d, ok := diverge(*row, a.compared); ok {
		d.Decision = Decision{Claim: "divergent", Holds: true, Test: "none", Hypothesis: "the outcome differs between cells", Method: "one run per cell (--reruns 0): seen, not tested"}
		if d.Mild {
			d.Decision = skippedDecision
		} else {
			row.Divergent = true
			c := d.Cause
			row.Cause = &c
		}
		return d, true
	}
	for _, res := range row.Results {
		if res.Outcome.Failed() && !res.Flaky {
			row.Failed = true
		}
	}
	switch {
	case row.Failed:
		c := diagnoseFailure(*row, a.compared)
		row.Cause = &c
	case row.Flaky:
		c := flakyCause
		row.Cause = &c
	}
	return Divergence{}, false
}

// divergence describes a divergence the test found: each compared cell by
// its alone re-runs (the most severe failure, else pass), the axes that
// separate the cells that failed from those that never did, the counts and
// the test.
func (a assessment) divergence(row TestRow, dt divergenceTest) Divergence {
	d := Divergence{Package: row.Package, Test: row.Test, Axes: []string{}, PValue: dt.p, Decision: dt.decision()}
	reps := make([]Result, len(dt.participants))
	var cells []string
	for i, res := range dt.participants {
		alone := sortedRuns(res, RunAlone)
		alone = alone[:min(len(alone), dt.looks[max(dt.look-1, 0)])]
		reps[i] = res
		reps[i].Flaky = false
		f, n := tally(alone)
		rc := RunCounts{Cell: res.Cell, Fail: f, Runs: n}
		d.Counts = append(d.Counts, rc)
		if rc.Fail > 0 && rc.Fail < rc.Runs {
			d.Intermittent = true
		}
		reps[i].Outcome = testjson.Pass
		for _, r := range alone {
			if r.Outcome.Failed() && (!reps[i].Outcome.Failed() || slices.Index(testjson.Outcomes, r.Outcome) < slices.Index(testjson.Outcomes, reps[i].Outcome)) {
				reps[i].Outcome = r.Outcome
			}
		}
		cells = append(cells, res.Cell)
	}
	slices.SortFunc(reps, func(x, y Result) int { return slices.Index(cells, x.Cell) - slices.Index(cells, y.Cell) })
	slices.SortStableFunc(d.Counts, func(x, y RunCounts) int { return y.Fail*x.Runs - x.Fail*y.Runs }) // highest rate first
	d.Outcomes = groupOutcomes(reps)
	failedOrNot := make([]Result, len(reps))
	for i, r := range reps {
		failedOrNot[i] = r
		if r.Outcome.Failed() {
			failedOrNot[i].Outcome = testjson.Fail
		}
	}
	for _, axis := range axesOf(cells, a.compared) {
		if explains(axis, failedOrNot, a.compared) {
			d.Axes = append(d.Axes, axis)
		}
	}
	if len(d.Axes) == 0 && dt.best.axis != "" && slices.Contains(axesOf(cells, a.compared), dt.best.axis) {
		d.Axes = append(d.Axes, dt.best.axis) // a rate that follows the axis without every cell agreeing
	}
	if len(d.Axes) == 0 {
		d.Outliers = outliers(groupOutcomes(failedOrNot), failedOrNot)
	}
	d.Cause = diagnoseDivergence(row, d, reps, a.compared)
	return d
}

// partialCause is for a row that failed every run in some cells and passed
// every run in others, without the runs to call it a divergence.
func partialCause(c Cause, fails, passes []string, dt divergenceTest) Cause {
	c.ID = "undecided"
	c.Text = fmt.Sprintf("fails every run in %s and passes every run in %s, too few runs to call it a divergence", strings.Join(fails, ", "), strings.Join(passes, ", "))
	if dt.look > 0 {
		c.Text += fmt.Sprintf(" (%s)", dt.decision().Text())
	}
	c.Hint = "raise --reruns-max to decide it"
	c.Generic = true
	return c
}

// orderCause explains an order-dependent row, with the runs of its first
// order-dependent cell as evidence, and the sibling it fails after when the
// bisection named one.
func orderCause(row TestRow, st rowState) Cause {
	o := st.order
	c := Cause{
		ID: "order-dependent",
		Text: fmt.Sprintf("order-dependent: fails more often with its package's other tests (same flags and seed) than alone: %d of %d against %d of %d runs (%s): state shared between tests (globals, environment, files, the working directory)",
			o.sibFail, o.sibRuns, o.aloneFail, o.aloneRuns, o.decision().Text()),
		Hint: "run the package with the -shuffle seed the cell printed, or the test after each sibling, to find the one that leaves state behind",
	}
	res, _ := row.Result(o.cells[0])
	c.EvidenceCell = res.Cell
	var alone, sibs []testjson.Outcome
	for _, r := range sortedRuns(res, RunAlone)[min(o.reruns, len(sortedRuns(res, RunAlone))):] {
		alone = append(alone, r.Outcome)
	}
	for _, r := range sortedRuns(res, RunSiblings) {
		sibs = append(sibs, r.Outcome)
	}
	c.Evidence = fmt.Sprintf("alone: %s; with its siblings: %s", joinOutcomes(alone), joinOutcomes(sibs))
	if cu := st.culprit; cu != nil {
		probes := len(sortedRuns(res, RunProbe))
		switch {
		case cu.holds:
			c.Text = fmt.Sprintf("order-dependent: fails after %s runs (same flags and seed), passes alone: %s leaves state behind that this test depends on (globals, environment, files, the working directory)", cu.candidate, cu.candidate)
			c.Hint = fmt.Sprintf("make the test set up the state it needs, or %s clean up after itself (t.Cleanup)", cu.candidate)
			c.Evidence += fmt.Sprintf("; bisection over its siblings (%s) pointed at %s; %s", plural(probes, "run"), cu.candidate, cu.decision.Hypothesis)
		case cu.candidate != "" && !cu.need:
			c.Evidence += fmt.Sprintf("; bisection pointed at %s, not confirmed (%s)", cu.candidate, cu.decision.Text())
		case cu.next == nil && cu.candidate == "" && probes > 0:
			c.Evidence += fmt.Sprintf("; bisection over its siblings (%s): no single sibling makes it fail", plural(probes, "run"))
		}
	}
	return c
}

func joinOutcomes(os []testjson.Outcome) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = string(o)
	}
	return strings.Join(s, " ")
}

// defaultTestTimeout is go test's -timeout when none is given.
const defaultTestTimeout = 10 * time.Minute

// budgetCause reports whether an order-dependent row's failures with its
// siblings are the package running out of go test's single -timeout: each
// failing first run in the cells timed out, and the package ran for 90% of
// the budget or more. The siblings used up the time; they did not leave
// state behind.
func budgetCause(r Report, row TestRow, cells []string) (Cause, bool) {
	budget := defaultTestTimeout
	if d, err := time.ParseDuration(r.Options.Timeout); err == nil && d > 0 {
		budget = d
	}
	for _, cell := range cells {
		res, _ := row.Result(cell)
		if !slices.Contains(firstRuns(res), testjson.Timeout) {
			return Cause{}, false
		}
		pkg, ok := packageResult(r.Tests, row.Package, cell)
		if !ok || pkg.ElapsedSeconds < 0.9*budget.Seconds() {
			return Cause{}, false
		}
		return Cause{
			ID: "timeout-budget",
			Text: fmt.Sprintf("out of time: its package ran %s of go test's -timeout %s in %s, and this test was running when it ran out; alone it passes: its siblings used up the package's one time budget",
				time.Duration(pkg.ElapsedSeconds*float64(time.Second)).Round(time.Second), budget, cell),
			Hint:         "raise --timeout (emulated cells are several times slower), or split the package",
			EvidenceCell: cell,
		}, true
	}
	return Cause{}, false
}

// packageResult is the package row's result in the cell.
func packageResult(rows []TestRow, pkg, cell string) (Result, bool) {
	for _, row := range rows {
		if row.Package == pkg && row.IsPackage() {
			return row.Result(cell)
		}
	}
	return Result{}, false
}

// foldSubtests marks the rows whose finding is only their subtests': a
// parent that failed, diverged or was flaky in every cell where a subtest
// of it with the same finding failed. The subtest is counted; the parent
// is its context.
func foldSubtests(rows []TestRow) {
	finding := func(r TestRow) string {
		switch {
		case r.Divergent:
			return "divergent"
		case r.OrderDependent:
			return "order"
		case r.Failed:
			return "failed"
		case r.Flaky:
			return "flaky"
		}
		return ""
	}
	for i := range rows {
		p := &rows[i]
		f := finding(*p)
		if p.IsPackage() || f == "" {
			continue
		}
		var subs []TestRow
		for _, r := range rows {
			if r.Package == p.Package && strings.HasPrefix(r.Test, p.Test+"/") && finding(r) == f {
				subs = append(subs, r)
			}
		}
		if len(subs) == 0 {
			continue
		}
		through := true
		for _, res := range p.Results {
			if !slices.ContainsFunc(allRuns(res), testjson.Outcome.Failed) {
				continue
			}
			if !slices.ContainsFunc(subs, func(s TestRow) bool {
				sr, ok := s.Result(res.Cell)
				return ok && slices.ContainsFunc(allRuns(sr), testjson.Outcome.Failed)
			}) {
				through = false
			}
		}
		p.ViaSubtests = through
	}
}

// Pending is how many re-runs the report still asks for (Needs at the
// next look), and how many divergent tests still await experiments: a
// report with either is provisional.
func Pending(r Report) (runs, explain int) { return pending(r, assess(r)) }

func pending(r Report, a assessment) (runs, explain int) {
	runs = len(a.needs(r, NextLook))
	if runs == 0 && Explains(r) {
		for _, s := range Subjects(r) {
			if ExplainPending(r, s) {
				explain++
			}
		}
	}
	return runs, explain
}

// Package recheck decides, from a first report, what to run again and
// what the runs mean. Re-runs (--reruns N) tell a flaky test (its outcome
// varies inside one cell) from a divergent one; experiments (--explain)
// re-run a divergent test in a cell where it failed with one factor flipped
// towards a cell where it passed, to prove a cause. Everything here is pure:
// it turns reports and planned Specs into reduced Specs, and runner results
// back into outcomes. The pipeline runs the Specs with runner.Run.
package recheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// Target is one test to read back from a run: a top-level test or a
// subtest (its top-level parent is what runs).
type Target struct {
	Package, Test string
}

// Run is one reduced Spec to execute and what to read from its result.
type Run struct {
	Spec    job.Spec
	Cell    string // the report cell the run stands for
	Targets []Target
	Attempt int    // re-runs: 1..N
	Trial   string // experiments: the experiment's id
	// WithSiblings: the run is the targets' whole package with the first
	// run's flags and seed (see PlanWithSiblings).
	WithSiblings bool
	// Siblings, for a bisection run (PlanBisect): the only siblings that
	// run with the target.
	Siblings []string
}

// Label names the run in progress output: the cell and what the run is.
func (r Run) Label() string {
	if r.Trial != "" {
		return fmt.Sprintf("%s explain %s", r.Cell, r.Trial)
	}
	if r.Siblings != nil {
		return fmt.Sprintf("%s bisect %d (with %d of its siblings)", r.Cell, r.Attempt, len(r.Siblings))
	}
	if r.WithSiblings {
		return fmt.Sprintf("%s rerun %d with siblings", r.Cell, r.Attempt)
	}
	return fmt.Sprintf("%s rerun %d", r.Cell, r.Attempt)
}

// PlanReruns returns n re-runs, in every cell where it ran, of each test
// that failed, diverged or was already flaky in the first report. One run
// per cell and attempt re-runs all of that cell's targets, package by
// package, with -count=1. Each run's test step gets PARITY_RERUN=<nonce>-<attempt>:
// a runtime that caches steps (Dagger) must run every re-run afresh, and
// a run's nonce keeps an earlier run's re-runs from being served either.
func PlanReruns(rep report.Report, specs []job.Spec, n int, nonce string) []Run {
	if n <= 0 {
		return nil
	}
	return planAlone(rep, specs, needsRerun, 1, n, nonce)
}

// PlanMore returns more re-runs, alone, of the given rows (report.Undecided:
// too few runs to tell flaky from divergent), attempts from..to, in every
// cell where each ran.
func PlanMore(rep report.Report, specs []job.Spec, rows []report.TestRow, from, to int, nonce string) []Run {
	want := map[[2]string]bool{}
	for _, row := range rows {
		want[[2]string{row.Package, row.Test}] = true
	}
	return planAlone(rep, specs, func(row report.TestRow) bool { return want[[2]string{row.Package, row.Test}] }, from, to, nonce)
}

// planAlone re-runs the rows pick selects, attempts from..to.
func planAlone(rep report.Report, specs []job.Spec, pick func(report.TestRow) bool, from, to int, nonce string) []Run {
	byCell := specsByCell(specs)
	ran := map[string]bool{}
	for _, c := range rep.Cells {
		ran[c.Name] = c.RanTests()
	}
	targets := map[string][]Target{}
	var order []string
	for _, row := range rep.Tests {
		if row.IsPackage() || !pick(row) {
			continue
		}
		for _, res := range row.Results {
			if !res.Outcome.Ran() || !ran[res.Cell] {
				continue
			}
			if _, ok := targets[res.Cell]; !ok {
				order = append(order, res.Cell)
			}
			targets[res.Cell] = append(targets[res.Cell], Target{row.Package, row.Test})
		}
	}
	var runs []Run
	for attempt := from; attempt <= to; attempt++ {
		for _, cell := range order {
			spec, ok := byCell[cell]
			if !ok || spec.NotRunnable != "" {
				continue
			}
			ch := Change{Env: []string{fmt.Sprintf("PARITY_RERUN=%s-%d", nonce, attempt)}}
			runs = append(runs, Run{Spec: Reduce(spec, targets[cell], ch), Cell: cell, Targets: targets[cell], Attempt: attempt})
		}
	}
	return runs
}

// PlanWithSiblings returns n runs, per cell, of the packages of the tests
// that failed there in the first run and passed every re-run alone: the
// first run's conditions (its flags, -run and -skip included, its -count,
// the -shuffle seed the cell printed), with the targets' siblings. A test
// that fails again is order-dependent (report.Build).
func PlanWithSiblings(rep report.Report, specs []job.Spec, n int, nonce string) []Run {
	byCell := specsByCell(specs)
	seeds := map[string]map[string]int64{}
	for _, c := range rep.Cells {
		seeds[c.Name] = c.ShuffleSeeds
	}
	type key struct{ cell, pkg string }
	targets := map[key][]Target{}
	var order []key
	for _, row := range rep.Tests {
		if row.IsPackage() {
			continue
		}
		for _, res := range row.Results {
			if !passedAlone(res) {
				continue
			}
			k := key{res.Cell, row.Package}
			if _, ok := targets[k]; !ok {
				order = append(order, k)
			}
			targets[k] = append(targets[k], Target{row.Package, row.Test})
		}
	}
	var runs []Run
	for attempt := 1; attempt <= n; attempt++ {
		for _, k := range order {
			spec, ok := byCell[k.cell]
			if !ok || spec.NotRunnable != "" {
				continue
			}
			seed, shuffled := seeds[k.cell][k.pkg]
			ch := Change{Env: []string{fmt.Sprintf("PARITY_RERUN=%s-siblings-%d", nonce, attempt)}}
			runs = append(runs, Run{Spec: reducePackage(spec, k.pkg, seed, shuffled, ch), Cell: k.cell, Targets: targets[k], Attempt: attempt, WithSiblings: true})
		}
	}
	return runs
}

// MaxBisected bounds how many order-dependent tests get a bisection.
const MaxBisected = 3

// PlanBisect returns the next bisection run of each order-dependent test
// (at most MaxBisected, in report order) whose bisection is not done: the
// test with some of its siblings only (report.Bisect), in the first cell
// where it was order-dependent, with the first run's flags and -shuffle
// seed. The pipeline calls it again after each round's runs, until it
// returns none.
func PlanBisect(rep report.Report, specs []job.Spec, nonce string) []Run {
	byCell := specsByCell(specs)
	seeds := map[string]map[string]int64{}
	for _, c := range rep.Cells {
		seeds[c.Name] = c.ShuffleSeeds
	}
	var runs []Run
	bisected := 0
	for _, row := range rep.Tests {
		i := slices.IndexFunc(row.Results, func(r report.Result) bool { return r.OrderDependent })
		// Top-level tests only: a subtest runs with its parent's siblings.
		if row.IsPackage() || strings.Contains(row.Test, "/") || i < 0 || bisected == MaxBisected {
			continue
		}
		bisected++
		res := row.Results[i]
		spec, ok := byCell[res.Cell]
		if !ok || spec.NotRunnable != "" {
			continue
		}
		next, _, done := report.Bisect(report.Siblings(rep.Tests, row, res.Cell), res.Bisection)
		if done {
			continue
		}
		attempt := len(res.Bisection) + 1
		ch := Change{Env: []string{fmt.Sprintf("PARITY_RERUN=%s-bisect-%d", nonce, attempt)}}
		if seed, ok := seeds[res.Cell][row.Package]; ok {
			ch.Flags = []string{fmt.Sprintf("-shuffle=%d", seed)}
		}
		targets := []Target{{row.Package, row.Test}}
		for _, sib := range next {
			targets = append(targets, Target{row.Package, sib})
		}
		run := Run{Spec: Reduce(spec, targets, ch), Cell: res.Cell, Targets: targets[:1], Attempt: attempt, Siblings: next}
		runs = append(runs, run)
	}
	return runs
}

// passedAlone reports whether a result failed in the first run (with its
// siblings) and passed every re-run alone.
func passedAlone(res report.Result) bool {
	first := res.Runs
	if len(first) == 0 {
		first = []testjson.Outcome{res.Outcome}
	}
	return slices.ContainsFunc(first, testjson.Outcome.Failed) && len(res.Reruns) > 0 &&
		!slices.ContainsFunc(res.Reruns, func(o testjson.Outcome) bool { return o.Failed() || !o.Ran() }) &&
		len(res.WithSiblings) == 0
}

// reducePackage is Reduce for a run with siblings: the first run's test
// step as it was, for one package, -shuffle fixed to the seed the cell
// printed for it.
func reducePackage(s job.Spec, pkg string, seed int64, shuffled bool, ch Change) job.Spec {
	out := Reduce(s, nil, ch)
	for _, st := range s.Steps {
		if st.Name != job.StepTest {
			continue
		}
		var args []string
		for i, a := range st.Args {
			switch {
			case i < 2 || strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "-shuffle"):
				args = append(args, a)
			case strings.HasPrefix(a, "-shuffle") && shuffled:
				args = append(args, fmt.Sprintf("-shuffle=%d", seed))
			}
		}
		out.Steps[len(out.Steps)-1].Args = append(args, pkg)
	}
	return out
}

func needsRerun(row report.TestRow) bool {
	return row.Failed || row.Divergent || row.Flaky ||
		slices.ContainsFunc(row.Results, func(r report.Result) bool { return r.Outcome.Failed() })
}

func specsByCell(specs []job.Spec) map[string]job.Spec {
	m := make(map[string]job.Spec, len(specs))
	for _, s := range specs {
		m[s.Cell.String()] = s
	}
	return m
}

// ReadReruns turns the re-runs' results (in run order) into outcomes. A run
// whose cell did not get to run tests (the runtime failed) says nothing
// about its tests, and a test missing from a run's output is left out.
func ReadReruns(runs []Run, results []job.Result) []report.Rerun {
	var out []report.Rerun
	for i, run := range runs {
		if i >= len(results) {
			break
		}
		for t, o := range outcomes(run, results[i]) {
			out = append(out, report.Rerun{Package: t.Package, Test: t.Test, Cell: run.Cell, Outcome: o, WithSiblings: run.WithSiblings, Siblings: run.Siblings})
		}
	}
	slices.SortStableFunc(out, func(a, b report.Rerun) int {
		return strings.Compare(a.Package+"\x00"+a.Test+"\x00"+a.Cell, b.Package+"\x00"+b.Test+"\x00"+b.Cell)
	})
	return out
}

// outcomes reads each target's outcome from one run's result.
func outcomes(run Run, res job.Result) map[Target]testjson.Outcome {
	out := map[Target]testjson.Outcome{}
	if !res.Status.RanTests() {
		return out
	}
	// The parsed stream, not the stdout a streaming runtime capped.
	parsed, _ := res.TestRun()
	for _, t := range run.Targets {
		if tr, ok := parsed.Test(t.Package, t.Test); ok && tr.Outcome.Ran() {
			o := tr.Outcome
			if o == testjson.Crashed && res.Status == job.StatusTimeout {
				o = testjson.Timeout // the cell ran out of time around it
			}
			out[t] = o
			continue
		}
		if p, ok := parsed.Package(t.Package); ok && p.OutsideTests == testjson.BuildFail {
			out[t] = testjson.BuildFail
		}
	}
	return out
}

// Change is what an experiment does to a re-run: one factor flipped.
type Change struct {
	Env     []string    // KEY=VALUE set for the test step
	Flags   []string    // extra go test flags
	Prelude string      // shell run before go test (e.g. an export)
	NoRace  bool        // drop -race
	Mounts  []job.Mount // added to the cell's mounts
	Image   string      // another image for the cell's platform (another Go)
}

// Reduce returns the cell's Spec cut down to re-run the targets: the setup
// step (the C toolchain) if the cell has one, then one test step with
// -count=1 and -run selecting the targets' top-level tests, package by
// package. Image, environment, mounts, limits and decisions are kept. The
// module cache was filled and verified by the first run: no deps step, and
// the test step stays offline.
func Reduce(s job.Spec, targets []Target, ch Change) job.Spec {
	out := s
	out.Env = slices.Clone(s.Env)
	out.Mounts = append(slices.Clone(s.Mounts), ch.Mounts...)
	out.Capabilities = slices.Clone(s.Capabilities)
	out.Decisions = slices.Clone(s.Decisions)
	out.Steps = nil
	var test job.Step
	for _, st := range s.Steps {
		switch st.Name {
		case job.StepSetup:
			out.Steps = append(out.Steps, st)
		case job.StepTest:
			test = st
		}
	}
	flags, userRun := testFlags(test.Args, ch)
	if ch.NoRace {
		out.Race = false
	}
	if ch.Image != "" {
		out.Image = ch.Image
	}
	test.Name = job.StepTest
	test.Network = false
	test.Env = mergeEnv(test.Env, ch.Env)
	test.Args = testCommand(flags, byPackage(targets), ch.Prelude, userRun)
	out.Steps = append(out.Steps, test)
	return out
}

// testFlags keeps the first run's flags that shape how a test behaves
// (-race, -timeout, build flags) and what it excludes (-skip), and drops
// those that choose how often or in which order to run: the re-run chooses
// those itself. It returns the user's -run pattern apart: the re-run's
// -run narrows its top level and keeps the levels below (runSelection).
func testFlags(args []string, ch Change) ([]string, string) {
	flags := []string{"-json"}
	userRun := ""
	for _, a := range args {
		switch {
		case !strings.HasPrefix(a, "-"):
			continue // go, test, packages
		case strings.HasPrefix(a, "-run="):
			userRun = strings.TrimPrefix(a, "-run=")
			continue
		case a == "-json",
			strings.HasPrefix(a, "-count"), strings.HasPrefix(a, "-run"),
			strings.HasPrefix(a, "-shuffle"):
			continue
		case a == "-race" && ch.NoRace:
			continue
		}
		flags = append(flags, a)
	}
	return append(append(flags, "-count=1"), ch.Flags...), userRun
}

// runSelection is the re-run's -run pattern: exactly the top-level tests,
// each under the user's own pattern for the levels below (go test's -run
// is one regexp per level, split at unbracketed '/', alternatives at
// unbracketed '|'), so a subtest the user's -run excluded stays excluded.
// An alternative whose top level matches none of the tests is dropped.
func runSelection(user string, tops []string) string {
	if user == "" {
		return RunPattern(tops)
	}
	var alts []string
	for _, alt := range splitTop(user, '|') {
		levels := splitRunPattern(alt)
		re, err := regexp.Compile(levels[0])
		if err != nil {
			return RunPattern(tops) // go test refused it: the first run ran nothing
		}
		var matched []string
		for _, t := range tops {
			if re.MatchString(t) {
				matched = append(matched, t)
			}
		}
		if len(matched) > 0 {
			alts = append(alts, strings.Join(append([]string{RunPattern(matched)}, levels[1:]...), "/"))
		}
	}
	if len(alts) == 0 {
		return RunPattern(tops)
	}
	return strings.Join(alts, "|")
}

// splitRunPattern splits one -run alternative into its levels, as testing
// does: at each '/' outside brackets and parentheses.
func splitRunPattern(s string) []string { return splitTop(s, '/') }

// splitTop splits s at each sep outside [...] and (...), skipping escaped
// characters (testing's splitRegexp).
func splitTop(s string, sep byte) []string {
	var out []string
	cs, cp := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			cs++
		case ']':
			if cs--; cs < 0 {
				cs = 0
			}
		case '(':
			if cs == 0 {
				cp++
			}
		case ')':
			if cs == 0 {
				cp--
			}
		case '\\':
			i++
		case sep:
			if cs == 0 && cp == 0 {
				out = append(out, s[:i])
				s, i = s[i+1:], -1
			}
		}
	}
	return append(out, s)
}

type pkgTests struct {
	pkg   string
	tests []string // top-level names, sorted, unique
}

// byPackage groups the targets' top-level tests per package, in order.
func byPackage(targets []Target) []pkgTests {
	var out []pkgTests
	for _, t := range targets {
		top, _, _ := strings.Cut(t.Test, "/")
		i := slices.IndexFunc(out, func(p pkgTests) bool { return p.pkg == t.Package })
		if i < 0 {
			out = append(out, pkgTests{pkg: t.Package})
			i = len(out) - 1
		}
		if !slices.Contains(out[i].tests, top) {
			out[i].tests = append(out[i].tests, top)
		}
	}
	slices.SortFunc(out, func(a, b pkgTests) int { return strings.Compare(a.pkg, b.pkg) })
	for i := range out {
		slices.Sort(out[i].tests)
	}
	return out
}

// RunPattern is the -run pattern selecting exactly these top-level tests.
func RunPattern(tests []string) string {
	q := make([]string, len(tests))
	for i, t := range tests {
		q[i] = regexp.QuoteMeta(t)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

// testCommand is the test step's argv: plain `go test` for one package,
// else a shell running one `go test` per package (so each -run selects only
// its own package's tests) and failing if any did.
func testCommand(flags []string, pkgs []pkgTests, prelude, userRun string) []string {
	if len(pkgs) == 1 && prelude == "" {
		args := append([]string{"go", "test"}, flags...)
		return append(args, "-run="+runSelection(userRun, pkgs[0].tests), pkgs[0].pkg)
	}
	var b strings.Builder
	if prelude != "" {
		b.WriteString(prelude + "\n")
	}
	b.WriteString("rc=0\n")
	for _, p := range pkgs {
		args := append([]string{"go", "test"}, flags...)
		args = append(args, "-run="+runSelection(userRun, p.tests), p.pkg)
		for i, a := range args {
			args[i] = shellQuote(a)
		}
		b.WriteString(strings.Join(args, " ") + " || rc=1\n")
	}
	b.WriteString("exit $rc")
	return []string{"sh", "-c", b.String()}
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// mergeEnv returns base with over's keys replacing base's.
func mergeEnv(base, over []string) []string {
	key := func(kv string) string { k, _, _ := strings.Cut(kv, "="); return k }
	out := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		return slices.ContainsFunc(over, func(o string) bool { return key(o) == key(kv) })
	})
	return append(out, over...)
}

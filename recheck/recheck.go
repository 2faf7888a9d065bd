// Package recheck turns what the report's decision procedure asks for
// (report.Needs: re-runs alone, with siblings, bisection probes, culprit
// tests) and the experiments of --explain into reduced Specs, and reads
// their results back as re-run records. Everything here is pure: the
// pipeline runs the Specs with runner.Run, and the report decides from
// the records.
package recheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// Target is one row to read back from a run: a test or subtest (its
// top-level parent is what runs), or a package (Test "").
type Target struct {
	Package string `json:"package"`
	Test    string `json:"test"`
}

// Run is one reduced Spec to execute and the records to read from it.
type Run struct {
	Spec    job.Spec
	Cell    string // the report cell the run stands for
	Kind    report.RunKind
	Index   int
	Targets []Target
	// Siblings, for probes and culprit runs: the only siblings that run
	// with the target.
	Siblings []string
	// Experiments and their control: the experiment's id, description and
	// place in the table, and the passing cell.
	Trial, Description string
	Rank               int
	Towards            string
}

// Label names the run in progress output: the cell and what the run is.
func (r Run) Label() string {
	switch r.Kind {
	case report.RunExperiment:
		return fmt.Sprintf("%s explain %s %d", r.Cell, r.Trial, r.Index)
	case report.RunControl:
		return fmt.Sprintf("%s explain control %d", r.Cell, r.Index)
	case report.RunProbe:
		return fmt.Sprintf("%s bisect %d (with %d of its siblings)", r.Cell, r.Index, len(r.Siblings))
	case report.RunCulprit:
		return fmt.Sprintf("%s culprit %d (after %s)", r.Cell, r.Index, strings.Join(r.Siblings, ""))
	case report.RunCulpritControl:
		return fmt.Sprintf("%s culprit %d alone", r.Cell, r.Index)
	case report.RunSiblings:
		return fmt.Sprintf("%s rerun %d with siblings", r.Cell, r.Index)
	}
	return fmt.Sprintf("%s rerun %d", r.Cell, r.Index)
}

// Next is what to run after the runs the report holds: what its undecided
// rows need (report.Needs, at the pace given), else, once every row is
// decided, the next round of experiments its --explain asks for. None when
// the report is final.
func Next(rep report.Report, specs []job.Spec, pins matrix.Pins, pace report.Pace, nonce string) []Run {
	if needs := report.Needs(rep, pace); len(needs) > 0 {
		return Plan(rep, specs, needs, nonce)
	}
	if !report.Explains(rep) {
		return nil
	}
	return PlanExperiments(rep, specs, pins, report.Subjects(rep), Experiments, nonce)
}

// Plan turns needs into runs: the alone re-runs of one cell with one index
// share a container (one go test per package); with-siblings runs share
// one per cell, package and index; every probe and culprit run is its own.
// A need whose cell has no runnable Spec is left out.
func Plan(rep report.Report, specs []job.Spec, needs []report.Need, nonce string) []Run {
	byCell := specsByCell(specs)
	seeds := map[string]map[string]int64{}
	for _, c := range rep.Cells {
		seeds[c.Name] = c.ShuffleSeeds
	}
	type group struct {
		cell, pkg string
		kind      report.RunKind
		index     int
		sibs      string
	}
	runs := map[group]*Run{}
	var order []group
	for _, n := range needs {
		spec, ok := byCell[n.Cell]
		if !ok || spec.NotRunnable != "" {
			continue
		}
		g := group{cell: n.Cell, kind: n.Kind, index: n.Index, sibs: strings.Join(n.Siblings, ",")}
		switch {
		case n.Kind == report.RunAlone && n.Test == "":
			g.pkg = n.Package // a package's own re-run: its tests are not alone
		case n.Kind == report.RunSiblings:
			g.pkg = n.Package
		case n.Kind == report.RunProbe || n.Kind == report.RunCulprit || n.Kind == report.RunCulpritControl:
			g.pkg = n.Package + "\x00" + n.Test
		}
		r, ok := runs[g]
		if !ok {
			r = &Run{Cell: n.Cell, Kind: n.Kind, Index: n.Index, Siblings: n.Siblings}
			runs[g] = r
			order = append(order, g)
		}
		r.Targets = append(r.Targets, Target{n.Package, n.Test})
	}
	out := make([]Run, 0, len(order))
	for _, g := range order {
		r := *runs[g]
		spec := byCell[r.Cell]
		ch := Change{Env: []string{rerunEnv(nonce, r.Kind, r.Index, "")}}
		switch r.Kind {
		case report.RunSiblings:
			r.Spec = ReducePackages(spec, []string{r.Targets[0].Package}, seeds[r.Cell], ch)
		case report.RunProbe, report.RunCulprit:
			r.Spec = reduceWith(spec, r.Targets[0], r.Siblings, seeds[r.Cell], ch)
		default:
			r.Spec = Reduce(spec, r.Targets, seeds[r.Cell], ch)
		}
		out = append(out, r)
	}
	return out
}

// rerunEnv is the test step's PARITY_RERUN: a runtime that caches steps
// (Dagger) must run every re-run afresh, and a call's nonce keeps an
// earlier call's runs from being served either.
func rerunEnv(nonce string, kind report.RunKind, index int, trial string) string {
	v := fmt.Sprintf("PARITY_RERUN=%s/%s/%d", nonce, kind, index)
	if trial != "" {
		v += "/" + trial
	}
	return v
}

// reduceWith is a probe or culprit run: the test with only these siblings,
// the first run's flags and -shuffle seed (testing shuffles the whole list
// before -run filters it, so the survivors keep their relative order).
func reduceWith(s job.Spec, t Target, siblings []string, seeds map[string]int64, ch Change) job.Spec {
	targets := []Target{t}
	for _, sib := range siblings {
		targets = append(targets, Target{t.Package, sib})
	}
	if seed, ok := seeds[t.Package]; ok {
		ch.Flags = append(slices.Clone(ch.Flags), fmt.Sprintf("-shuffle=%d", seed))
	}
	return Reduce(s, targets, nil, ch)
}

func specsByCell(specs []job.Spec) map[string]job.Spec {
	m := make(map[string]job.Spec, len(specs))
	for _, s := range specs {
		m[s.Cell.String()] = s
	}
	return m
}

// Read turns the runs' results (in run order) into re-run records: one for
// every target of every run made, not-run (with why) when the run gave the
// target no outcome, so a run is never asked for twice.
func Read(runs []Run, results []job.Result) []report.RerunOf {
	var out []report.RerunOf
	for i, run := range runs {
		if i >= len(results) || results[i].Status == "" {
			continue // not made
		}
		got := outcomes(run, results[i])
		for _, t := range run.Targets {
			rr := report.Rerun{Kind: run.Kind, Index: run.Index, Outcome: testjson.NotRun, Siblings: run.Siblings,
				Trial: run.Trial, Description: run.Description, Rank: run.Rank, Towards: run.Towards}
			if o, ok := got[t]; ok {
				rr.Outcome = o
			} else {
				rr.Error = whyNoOutcome(results[i])
			}
			out = append(out, report.RerunOf{Package: t.Package, Test: t.Test, Cell: run.Cell, Rerun: rr})
		}
	}
	return out
}

func whyNoOutcome(res job.Result) string {
	if st, ok := res.Step(job.StepTest); ok && st.ExitCode != 0 && !res.Status.RanTests() {
		return fmt.Sprintf("%s (exit %d)", res.Status, st.ExitCode)
	}
	if res.Message != "" {
		return res.Message
	}
	if !res.Status.RanTests() {
		return string(res.Status)
	}
	if st, ok := res.Step(job.StepTest); ok {
		if line := lastLine(st.Stderr); line != "" {
			return line
		}
	}
	return "the run printed no result for it"
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
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
		p, pok := parsed.Package(t.Package)
		if t.Test == "" {
			if pok && p.OutsideTests.Ran() && !p.NoTestFiles {
				out[t] = p.OutsideTests
			}
			continue
		}
		if tr, ok := parsed.Test(t.Package, t.Test); ok && tr.Outcome.Ran() {
			o := tr.Outcome
			if o == testjson.Crashed && res.Status == job.StatusTimeout {
				o = testjson.Timeout // the cell ran out of time around it
			}
			out[t] = o
			continue
		}
		if pok && p.OutsideTests == testjson.BuildFail {
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
// -count=1, package by package: a test's -run selects its top-level test
// (the levels below kept from the user's -run), a package target runs its
// whole package with the first run's -run and -shuffle seed (seeds, by
// package). Image, environment, mounts, limits, decisions and the test
// command's wrapper (a source copy) are kept. The module cache was filled
// and verified by the first run: no deps step, and the test step stays
// offline.
func Reduce(s job.Spec, targets []Target, seeds map[string]int64, ch Change) job.Spec {
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
	if ch.NoRace {
		out.Race = false
	}
	if ch.Image != "" {
		out.Image = ch.Image
	}
	cmd := firstCommand(test)
	userRun := cmd.Run
	drop := []string{"count", "run", "shuffle"}
	if ch.NoRace {
		drop = append(drop, "race")
	}
	cmd = cmd.WithoutFlags(drop...)
	cmd.Flags = append(append(cmd.Flags, "-count=1"), ch.Flags...)
	cmd.Prelude = ch.Prelude
	cmd.Run, cmd.Packages, cmd.PerPackage = "", nil, nil
	for _, p := range byPackage(targets) {
		pr := job.PackageRun{Package: p.pkg, Run: runSelection(userRun, p.tests)}
		if p.whole {
			pr.Run = userRun
			if seed, ok := seeds[p.pkg]; ok && !slices.ContainsFunc(cmd.Flags, func(f string) bool { return strings.HasPrefix(f, "-shuffle") }) {
				pr.Flags = []string{fmt.Sprintf("-shuffle=%d", seed)}
			}
		}
		cmd.PerPackage = append(cmd.PerPackage, pr)
	}
	if len(cmd.PerPackage) == 1 {
		p := cmd.PerPackage[0]
		cmd.Flags = append(cmd.Flags, p.Flags...)
		cmd.Run, cmd.Packages, cmd.PerPackage = p.Run, []string{p.Package}, nil
	}
	test.Name = job.StepTest
	test.Network = false
	test.Env = mergeEnv(test.Env, ch.Env)
	test.Test = &cmd
	test.Args = cmd.Args()
	out.Steps = append(out.Steps, test)
	return out
}

// ReducePackages is Reduce for whole packages: each with the first run's
// flags, -run and -shuffle seed (with-siblings runs).
func ReducePackages(s job.Spec, pkgs []string, seeds map[string]int64, ch Change) job.Spec {
	var targets []Target
	for _, p := range pkgs {
		targets = append(targets, Target{Package: p})
	}
	return Reduce(s, targets, seeds, ch)
}

// firstCommand is the test step's command as data; a step made without
// one (hand-written Specs) is read from its argv.
func firstCommand(st job.Step) job.TestCommand {
	if st.Test != nil {
		return st.Test.Clone()
	}
	cmd := job.TestCommand{}
	for i, a := range st.Args {
		switch {
		case i < 2 && (a == "go" || a == "test"):
		case strings.HasPrefix(a, "-run="):
			cmd.Run = strings.TrimPrefix(a, "-run=")
		case strings.HasPrefix(a, "-"):
			cmd.Flags = append(cmd.Flags, a)
		default:
			cmd.Packages = append(cmd.Packages, a)
		}
	}
	return cmd
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
	whole bool     // the package itself is a target: run all of it
}

// byPackage groups the targets' top-level tests per package, in order.
func byPackage(targets []Target) []pkgTests {
	var out []pkgTests
	for _, t := range targets {
		i := slices.IndexFunc(out, func(p pkgTests) bool { return p.pkg == t.Package })
		if i < 0 {
			out = append(out, pkgTests{pkg: t.Package})
			i = len(out) - 1
		}
		if t.Test == "" {
			out[i].whole = true
			continue
		}
		top, _, _ := strings.Cut(t.Test, "/")
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

// mergeEnv returns base with over's keys replacing base's.
func mergeEnv(base, over []string) []string {
	key := func(kv string) string { k, _, _ := strings.Cut(kv, "="); return k }
	out := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		return slices.ContainsFunc(over, func(o string) bool { return key(o) == key(kv) })
	})
	return append(out, over...)
}

package report

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/testjson"
)

// The decision procedure on hand-made runs. Each test named after an
// issue-20 measurement reproduces what the old procedure got wrong.

// built is a report of cells and rows, decided with --reruns 2
// --reruns-max 10 unless opts says otherwise.
type built struct {
	r Report
}

func newReport(cells []Cell, rows ...TestRow) *built {
	rows = slices.Clone(rows)
	for i := range rows {
		rows[i].Results = slices.Clone(rows[i].Results)
	}
	r := Report{SchemaVersion: SchemaVersion, Cells: cells, Tests: rows, Options: Options{Reruns: 2, RerunsMax: 10}}
	return &built{r: r}
}

// first adds a row with its first-run outcome per cell.
func first(pkg, test string, outcomes map[string]testjson.Outcome) TestRow {
	row := TestRow{Package: pkg, Test: test}
	for _, c := range []Cell{g26a, g26r, m26a, m26r, g25a, m25a} {
		if o, ok := outcomes[c.Name]; ok {
			row.Results = append(row.Results, Result{Cell: c.Name, Outcome: o})
		}
	}
	return row
}

// add appends re-runs of a kind to a row's result in a cell, numbered on
// from what it has.
func (b *built) add(test, cell string, kind RunKind, outcomes ...testjson.Outcome) *built {
	return b.addWith(test, cell, kind, nil, outcomes...)
}

func (b *built) addWith(test, cell string, kind RunKind, sibs []string, outcomes ...testjson.Outcome) *built {
	for i := range b.r.Tests {
		row := &b.r.Tests[i]
		if row.Test != test {
			continue
		}
		for j := range row.Results {
			res := &row.Results[j]
			if res.Cell != cell {
				continue
			}
			n := len(sortedRuns(*res, kind))
			for k, o := range outcomes {
				res.Reruns = append(res.Reruns, Rerun{Kind: kind, Index: n + k + 1, Outcome: o, Siblings: sibs})
			}
		}
	}
	return b
}

func (b *built) done() Report { return finish(b.r) }

func outs(s string) []testjson.Outcome {
	var out []testjson.Outcome
	for _, f := range strings.Fields(s) {
		out = append(out, testjson.Outcome(f))
	}
	return out
}

func needsOf(r Report, test string, kind RunKind) map[string][]int {
	out := map[string][]int{}
	for _, n := range Needs(r, NextLook) {
		if n.Test == test && n.Kind == kind {
			out[n.Cell] = append(out[n.Cell], n.Index)
		}
	}
	return out
}

func rowNamed(t *testing.T, r Report, test string) TestRow {
	t.Helper()
	row, ok := r.row("p", test)
	if !ok {
		t.Fatalf("no row %s", test)
	}
	return row
}

func TestStratifiedOneSided(t *testing.T) {
	// One stratum is Fisher's test.
	for _, s := range []Stratum{{2, 3, 0, 3}, {7, 10, 0, 10}, {1, 3, 2, 3}, {0, 2, 0, 2}} {
		if got, want := StratifiedOneSided([]Stratum{s}), FisherOneSided(s.FailA, s.RunsA, s.FailB, s.RunsB); math.Abs(got-want) > 1e-12 {
			t.Errorf("%+v: %g, want %g", s, got, want)
		}
	}
	// Independent strata where A takes every failure: the product.
	if got := StratifiedOneSided([]Stratum{{2, 2, 0, 2}, {2, 2, 0, 2}}); math.Abs(got-1.0/36) > 1e-12 {
		t.Errorf("two strata 2/2 vs 0/2: %g, want 1/36", got)
	}
	// A stratum where both arms fail alike adds nothing.
	if got := StratifiedOneSided([]Stratum{{2, 2, 0, 2}, {2, 2, 2, 2}}); math.Abs(got-1.0/6) > 1e-12 {
		t.Errorf("%g, want 1/6", got)
	}
}

func TestLooks(t *testing.T) {
	if got := Looks(2, 10); !slices.Equal(got, []int{2, 4, 6, 8, 10}) {
		t.Errorf("Looks(2, 10) = %v", got)
	}
	if got := Looks(3, 4); !slices.Equal(got, []int{3, 4}) {
		t.Errorf("Looks(3, 4) = %v", got)
	}
	if got := Looks(0, 10); got != nil {
		t.Errorf("Looks(0, 10) = %v", got)
	}
	if got := OrderLooks(2, 10); !slices.Equal(got, []int{2, 4, 6, 8}) {
		t.Errorf("OrderLooks(2, 10) = %v", got)
	}
	if got := OrderLooks(2, 2); !slices.Equal(got, []int{2}) {
		t.Errorf("OrderLooks(2, 2) = %v", got)
	}
}

// A deterministic libc divergence over four cells is decided at the second
// look, from the alone re-runs: 8 of 8 against 0 of 8 (the first look's 4
// of 4 against 0 of 4 is p = 1/70, above 0.01/5 looks).
func TestDeterministicDivergenceAtTheFirstLook(t *testing.T) {
	four := []Cell{g26a, m26a, g25a, m25a}
	b := newReport(four, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail, g25a.Name: pass, m25a.Name: fail}))
	r := b.done()
	if got := needsOf(r, "TestX", RunAlone); len(got) != 4 || !slices.Equal(got[g26a.Name], []int{1, 2}) {
		t.Fatalf("needs %v: want 2 alone runs in each of the 4 cells (the passing ones too)", got)
	}
	if row := rowNamed(t, r, "TestX"); row.Divergent || !row.Failed {
		t.Fatalf("before re-runs: %+v", row)
	}
	for _, c := range []Cell{g26a, g25a} {
		b.add("TestX", c.Name, RunAlone, pass, pass)
	}
	for _, c := range []Cell{m26a, m25a} {
		b.add("TestX", c.Name, RunAlone, fail, fail)
	}
	r = b.done()
	if got := needsOf(r, "TestX", RunAlone); len(got) != 4 || !slices.Equal(got[m26a.Name], []int{3, 4}) {
		t.Fatalf("needs %v after the first look", got)
	}
	for _, c := range []Cell{g26a, g25a} {
		b.add("TestX", c.Name, RunAlone, pass, pass)
	}
	for _, c := range []Cell{m26a, m25a} {
		b.add("TestX", c.Name, RunAlone, fail, fail)
	}
	r = b.done()
	row := rowNamed(t, r, "TestX")
	if !row.Divergent || row.Failed || len(r.Divergences) != 1 {
		t.Fatalf("row %+v divergences %+v", row, r.Divergences)
	}
	d := r.Divergences[0]
	if !slices.Equal(d.Axes, []string{AxisLibc}) || d.Intermittent || !d.Decision.Holds || d.Decision.Look != 2 || d.PValue > d.Decision.Threshold {
		t.Errorf("divergence %+v", d)
	}
	if len(Needs(r, NextLook)) != 0 {
		t.Errorf("still needs %+v", Needs(r, NextLook))
	}
	if !strings.Contains(d.Decision.Text(), "one-sided Fisher exact test p = ") {
		t.Errorf("decision text %q", d.Decision.Text())
	}
}

// Issue 20, measured: a test flaky alike in every cell, that happened to
// fail only on musl in the first run, was called divergent. The first run
// is a screen: the alone re-runs decide, and they show no difference.
func TestFirstRunIsAScreenNotEvidence(t *testing.T) {
	four := []Cell{g26a, m26a, g25a, m25a}
	b := newReport(four, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail, g25a.Name: pass, m25a.Name: fail}))
	b.add("TestX", g26a.Name, RunAlone, outs("fail pass")...)
	b.add("TestX", g25a.Name, RunAlone, outs("pass fail")...)
	b.add("TestX", m26a.Name, RunAlone, outs("pass fail")...)
	b.add("TestX", m25a.Name, RunAlone, outs("fail pass")...)
	r := b.done()
	row := rowNamed(t, r, "TestX")
	if row.Divergent || !row.Flaky || row.Failed {
		t.Fatalf("row %+v: want flaky", row)
	}
	// Futility: the musl cells fail no more often than the others, so no
	// further look can find them failing more.
	if n := Needs(r, NextLook); len(n) != 0 {
		t.Errorf("needs %+v after a look with no lean", n)
	}
	if !r.Conclusion.OK {
		t.Errorf("verdict %+v: a flaky test fails it only with --fail-on-flaky", r.Conclusion)
	}
	if len(row.Decisions) != 1 || row.Decisions[0].Holds || row.Decisions[0].Claim != "divergent" {
		t.Errorf("decisions %+v: the test that did not hold is recorded", row.Decisions)
	}
}

// An intermittent divergence takes more looks; each look tests at its
// share of the level, and the next one is asked for while the failing side
// leans.
func TestIntermittentDivergenceTakesMoreLooks(t *testing.T) {
	two := []Cell{g26a, m26a}
	b := newReport(two, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail}))
	b.add("TestX", g26a.Name, RunAlone, outs("pass pass")...)
	b.add("TestX", m26a.Name, RunAlone, outs("fail pass")...)
	if got := needsOf(b.done(), "TestX", RunAlone); !slices.Equal(got[m26a.Name], []int{3, 4}) || !slices.Equal(got[g26a.Name], []int{3, 4}) {
		t.Fatalf("needs %v, want runs 3 and 4 in both cells", got)
	}
	b.add("TestX", g26a.Name, RunAlone, outs("pass pass pass pass pass pass")...)
	b.add("TestX", m26a.Name, RunAlone, outs("fail fail fail fail fail fail")...)
	r := b.done()
	d := r.Divergences
	if len(d) != 1 || !d[0].Intermittent || !slices.Equal(d[0].Axes, []string{AxisLibc}) || d[0].Decision.Look != 4 {
		t.Fatalf("divergences %+v", d)
	}
	// 7 of 8 against 0 of 8: p = 8/C(16,7) = 7e-4 ≤ 0.01/5 looks.
	if p := d[0].PValue; math.Abs(p-8.0/11440) > 1e-12 || d[0].Decision.Threshold != 0.002 {
		t.Errorf("p = %g, threshold %g", p, d[0].Decision.Threshold)
	}
	if c := d[0].Counts; c[0].Cell != m26a.Name || c[0].Fail != 7 || c[0].Runs != 8 || c[1].Fail != 0 {
		t.Errorf("counts %+v", c)
	}
}

// Issue 20, measured: "35.7% were divergent through a cell marked
// order-dependent (one failure in two with-siblings runs is enough)". Now
// with-siblings runs face as many alone runs of the same rounds, by a
// test; one failure decides nothing.
func TestOrderDependenceIsATest(t *testing.T) {
	b := newReport([]Cell{g26a}, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: fail}),
		first("p", "TestA", map[string]testjson.Outcome{g26a.Name: pass}))
	r := b.done()
	if got := needsOf(r, "TestX", RunAlone); !slices.Equal(got[g26a.Name], []int{1, 2}) {
		t.Fatalf("needs %v", got)
	}
	b.add("TestX", g26a.Name, RunAlone, pass, pass)
	r = b.done()
	if got := needsOf(r, "TestX", RunSiblings); !slices.Equal(got[g26a.Name], []int{1, 2}) {
		t.Fatalf("siblings needs %v", got)
	}
	if got := needsOf(r, "TestX", RunAlone); !slices.Equal(got[g26a.Name], []int{3, 4}) {
		t.Fatalf("alone needs %v: the order test's alone arm, beside its siblings arm", got)
	}
	b.add("TestX", g26a.Name, RunSiblings, fail, pass)
	b.add("TestX", g26a.Name, RunAlone, pass, pass)
	r = b.done()
	if row := rowNamed(t, r, "TestX"); row.OrderDependent || row.Failed {
		t.Fatalf("one failure of two with its siblings decided %+v", row)
	}
	// It leans: more runs.
	if got := needsOf(r, "TestX", RunSiblings); !slices.Equal(got[g26a.Name], []int{3, 4}) {
		t.Fatalf("siblings needs %v", got)
	}
	b.add("TestX", g26a.Name, RunSiblings, fail, fail, fail, fail)
	b.add("TestX", g26a.Name, RunAlone, pass, pass, pass, pass)
	r = b.done()
	// 5 of 6 against 0 of 6: C(6,5)/C(12,5) = 0.0076, above 0.01/4 looks.
	if row := rowNamed(t, r, "TestX"); row.OrderDependent {
		t.Fatalf("5 of 6 decided %+v", row)
	}
	b.add("TestX", g26a.Name, RunSiblings, fail, fail)
	b.add("TestX", g26a.Name, RunAlone, pass, pass)
	r = b.done()
	row := rowNamed(t, r, "TestX")
	// 7 of 8 against 0 of 8: C(8,7)/C(16,7) = 7e-4 ≤ 0.01/4 looks.
	if !row.OrderDependent || !row.Failed || row.Cause == nil || row.Cause.ID != "order-dependent" || r.Conclusion.OK {
		t.Fatalf("row %+v verdict %+v", row, r.Conclusion)
	}
	// Flaky alike with and without siblings: no.
	b = newReport([]Cell{g26a}, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: fail}))
	b.add("TestX", g26a.Name, RunAlone, pass, pass, fail, pass)
	b.add("TestX", g26a.Name, RunSiblings, pass, fail)
	r = b.done()
	if row := rowNamed(t, r, "TestX"); row.OrderDependent || !row.Flaky || len(Needs(r, NextLook)) != 0 {
		t.Fatalf("row %+v needs %+v", row, Needs(r, NextLook))
	}
}

// A bisection's candidate is named only when runs with it alone fail
// significantly more often than alone runs beside them.
func TestCulpritIsConfirmedBeforeItIsNamed(t *testing.T) {
	mk := func() *built {
		b := newReport([]Cell{g26a},
			first("p", "TestA", map[string]testjson.Outcome{g26a.Name: pass}),
			first("p", "TestB", map[string]testjson.Outcome{g26a.Name: pass}),
			first("p", "TestX", map[string]testjson.Outcome{g26a.Name: fail}))
		b.add("TestX", g26a.Name, RunAlone, pass, pass, pass, pass, pass, pass, pass, pass)
		b.add("TestX", g26a.Name, RunSiblings, fail, fail, fail, fail, fail, fail)
		return b
	}
	b := mk()
	r := b.done()
	if row := rowNamed(t, r, "TestX"); !row.OrderDependent {
		t.Fatalf("row %+v", row)
	}
	probe := func(r Report) []Need {
		var out []Need
		for _, n := range Needs(r, NextLook) {
			if n.Kind == RunProbe {
				out = append(out, n)
			}
		}
		return out
	}
	if p := probe(r); len(p) != 1 || !slices.Equal(p[0].Siblings, []string{"TestA"}) {
		t.Fatalf("first probe %+v", p)
	}
	b.addWith("TestX", g26a.Name, RunProbe, []string{"TestA"}, fail)
	r = b.done()
	culprits := needsOf(r, "TestX", RunCulprit)
	controls := needsOf(r, "TestX", RunCulpritControl)
	if len(culprits[g26a.Name]) != CulpritRuns || len(controls[g26a.Name]) != CulpritRuns {
		t.Fatalf("culprit needs %v controls %v", culprits, controls)
	}
	if row := rowNamed(t, r, "TestX"); strings.Contains(row.Cause.Text, "fails after") {
		t.Fatalf("named before its test: %s", row.Cause.Text)
	}
	confirmed := mk()
	confirmed.addWith("TestX", g26a.Name, RunProbe, []string{"TestA"}, fail)
	confirmed.addWith("TestX", g26a.Name, RunCulprit, []string{"TestA"}, fail, fail, fail, fail, fail)
	confirmed.add("TestX", g26a.Name, RunCulpritControl, pass, pass, pass, pass, pass)
	r = confirmed.done()
	row := rowNamed(t, r, "TestX")
	if !strings.Contains(row.Cause.Text, "fails after TestA runs") || len(Needs(r, NextLook)) != 0 {
		t.Fatalf("cause %+v needs %+v", row.Cause, Needs(r, NextLook))
	}
	// A flaky probe's candidate does not survive its test.
	flaky := mk()
	flaky.addWith("TestX", g26a.Name, RunProbe, []string{"TestA"}, fail)
	flaky.addWith("TestX", g26a.Name, RunCulprit, []string{"TestA"}, fail, pass, fail, pass, pass)
	flaky.add("TestX", g26a.Name, RunCulpritControl, pass, fail, pass, pass, pass)
	row = rowNamed(t, flaky.done(), "TestX")
	if strings.Contains(row.Cause.Text, "fails after") || !strings.Contains(row.Cause.Evidence, "not confirmed") {
		t.Fatalf("cause %+v", row.Cause)
	}
}

// Issue 20, measured: in a slow cell the siblings used up the package's
// one -timeout, the test timed out with them and passed alone, and was
// called order-dependent with a culprit. It is the budget.
func TestTimeoutBudgetIsNotOrderDependence(t *testing.T) {
	pkgRow := TestRow{Package: "p", Results: []Result{{Cell: g26r.Name, Outcome: testjson.Timeout, ElapsedSeconds: 600.2}}}
	b := newReport([]Cell{g26r}, pkgRow,
		first("p", "TestA", map[string]testjson.Outcome{g26r.Name: pass}),
		first("p", "TestX", map[string]testjson.Outcome{g26r.Name: testjson.Timeout}))
	b.add("TestX", g26r.Name, RunAlone, pass, pass, pass, pass, pass, pass, pass, pass)
	b.add("TestX", g26r.Name, RunSiblings, testjson.Timeout, testjson.Timeout, testjson.Timeout, testjson.Timeout, testjson.Timeout, testjson.Timeout)
	r := b.done()
	row := rowNamed(t, r, "TestX")
	if !row.Failed || row.OrderDependent || row.Cause == nil || row.Cause.ID != "timeout-budget" ||
		!strings.Contains(row.Cause.Text, "10m0s") || !strings.Contains(row.Cause.Hint, "--timeout") {
		t.Fatalf("row %+v cause %+v", row, row.Cause)
	}
	if n := needsOf(r, "TestX", RunProbe); len(n) != 0 {
		t.Errorf("bisects a budget: %v", n)
	}
}

// Issue 20, measured: "confirmed: passes 10 of 10 runs with CGO_ENABLED
// flipped (unchanged, it fails 1 of 11)". An experiment now needs a
// control arm it beats by a test.
func TestExperimentBeatsItsControl(t *testing.T) {
	mk := func(control, trial string) Report {
		b := newReport([]Cell{g26a, m26a}, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail}))
		b.add("TestX", g26a.Name, RunAlone, pass, pass)
		b.add("TestX", m26a.Name, RunAlone, outs("fail fail fail fail fail fail")...)
		b.add("TestX", g26a.Name, RunAlone, pass, pass, pass, pass)
		b.r = finish(b.r)
		n := ArmRuns(6, 6, 1, RowAlpha)
		b.add("TestX", m26a.Name, RunControl, outs(strings.Repeat(control+" ", n))...)
		for i := range b.r.Tests[0].Results {
			res := &b.r.Tests[0].Results[i]
			if res.Cell == m26a.Name {
				for k := range n {
					res.Reruns = append(res.Reruns, Rerun{Kind: RunExperiment, Index: k + 1, Outcome: testjson.Outcome(trial), Trial: "cgo-flip", Description: "CGO_ENABLED flipped", Rank: 3, Towards: g26a.Name})
				}
			}
		}
		return finish(b.r)
	}
	r := mk("fail", "pass")
	e := rowNamed(t, r, "TestX").Explanation
	if e == nil || !e.Confirmed || e.Experiment != "cgo-flip" || e.Control.Runs != e.RunsPerArm || e.Control.Passes != 0 {
		t.Fatalf("explanation %+v", e)
	}
	if !strings.Contains(e.Text, "unchanged, alone in the same rounds, it fails") {
		t.Errorf("text %q", e.Text)
	}
	// The control passes as often: nothing confirmed.
	if e := rowNamed(t, mk("pass", "pass"), "TestX").Explanation; e == nil || e.Confirmed {
		t.Fatalf("explanation %+v: an experiment no better than its control", e)
	}
}

func TestArmRuns(t *testing.T) {
	// A deterministic failure and ten experiments: 1/C(2n, n) ≤ 0.001.
	if n := ArmRuns(10, 10, 10, 0.01); n < 7 || n > 12 {
		t.Errorf("ArmRuns(10 of 10, 10 experiments) = %d", n)
	}
	// A rarer failure needs more runs, up to the bound.
	if a, b := ArmRuns(7, 10, 10, 0.01), ArmRuns(10, 10, 10, 0.01); a <= b {
		t.Errorf("70%%: %d runs, 100%%: %d", a, b)
	}
	if n := ArmRuns(1, 10, 10, 0.01); n != MaxArmRuns {
		t.Errorf("10%%: %d", n)
	}
	if !ArmAlive(0, 8, 1, 0.01) || ArmAlive(4, 8, 1, 0.01) {
		t.Error("ArmAlive")
	}
}

// Issue 20, measured: --allow-divergence forgave an intermittent
// divergence but not a deterministic one. It forgives divergences, and
// only them; a pass against a platform's skip fails nothing.
func TestAllowDivergence(t *testing.T) {
	two := []Cell{g26a, m26a}
	det := newReport(two, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail}))
	det.add("TestX", g26a.Name, RunAlone, outs("pass pass pass pass pass pass")...)
	det.add("TestX", m26a.Name, RunAlone, outs("fail fail fail fail fail fail")...)
	inter := newReport(two, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail}))
	inter.add("TestX", g26a.Name, RunAlone, outs("pass pass pass pass pass pass pass pass")...)
	inter.add("TestX", m26a.Name, RunAlone, outs("fail fail pass fail fail fail fail fail")...)
	for name, r := range map[string]Report{"deterministic": det.done(), "intermittent": inter.done()} {
		if v := r.Verdict(false); v.OK || v.DivergentTests != 1 || v.FailedTests != 0 {
			t.Errorf("%s: Verdict(false) = %+v", name, v)
		}
		if v := r.Verdict(true); !v.OK || v.DivergentTests != 1 {
			t.Errorf("%s: Verdict(true) = %+v, want OK", name, v)
		}
	}
	skipped := newReport(two, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: skip})).done()
	if v := skipped.Verdict(false); !v.OK || v.DivergentTests != 0 || len(skipped.Divergences) != 1 || !skipped.Divergences[0].Mild {
		t.Errorf("pass vs skip: verdict %+v divergences %+v", v, skipped.Divergences)
	}
	// A failure everywhere is not forgiven.
	failing := newReport(two, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: fail, m26a.Name: fail}))
	failing.add("TestX", g26a.Name, RunAlone, fail, fail)
	failing.add("TestX", m26a.Name, RunAlone, fail, fail)
	if v := failing.done().Verdict(true); v.OK || v.FailedTests != 1 {
		t.Errorf("failing everywhere under --allow-divergence: %+v", v)
	}
}

// Issue 20, measured: "7 tests diverge" for 4. A parent that diverges
// through its subtest is the subtest's context, counted once.
func TestSubtestDivergenceCountedOnce(t *testing.T) {
	two := []Cell{g26a, m26a}
	b := newReport(two,
		first("p", "TestP", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail}),
		first("p", "TestP/musl", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail}),
		first("p", "TestP/other", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: pass}))
	for _, test := range []string{"TestP", "TestP/musl"} {
		b.add(test, g26a.Name, RunAlone, outs("pass pass pass pass pass pass")...)
		b.add(test, m26a.Name, RunAlone, outs("fail fail fail fail fail fail")...)
	}
	r := b.done()
	parent, sub := rowNamed(t, r, "TestP"), rowNamed(t, r, "TestP/musl")
	if !sub.Divergent || sub.ViaSubtests || !parent.ViaSubtests {
		t.Fatalf("parent %+v sub %+v", parent, sub)
	}
	if v := r.Conclusion; v.DivergentTests != 1 || !strings.Contains(strings.Join(v.Reasons, ";"), "p.TestP/musl") {
		t.Errorf("verdict %+v", v)
	}
}

// Issue 20, measured: package rows were judged on one run. A TestMain
// failing 40% of the time everywhere was a libc divergence in 2 of 6
// runs; now a package row is re-run (its package) and decided like a test.
func TestPackageRowsAreRerunAndDecided(t *testing.T) {
	four := []Cell{g26a, m26a, g25a, m25a}
	pkg := TestRow{Package: "p"}
	for _, c := range four {
		o := pass
		if c.Cell.Libc == "musl" {
			o = fail
		}
		pkg.Results = append(pkg.Results, Result{Cell: c.Name, Outcome: o, Output: "TestMain: setup failed\n"})
	}
	b := newReport(four, pkg)
	r := b.done()
	needs := Needs(r, NextLook)
	if len(needs) != 8 || needs[0].Test != "" || needs[0].Kind != RunAlone {
		t.Fatalf("needs %+v: the package re-run twice in each cell", needs)
	}
	// Flaky alike: it fails everywhere some of the time.
	for _, c := range four {
		b.add("", c.Name, RunAlone, outs("fail pass")...)
	}
	r = b.done()
	if row := r.Tests[0]; row.Divergent || !row.Flaky {
		t.Fatalf("package row %+v", row)
	}
	// On musl only, every time: a divergence whose cause shows what
	// TestMain printed.
	b = newReport(four, pkg)
	for _, c := range four {
		o := pass
		if c.Cell.Libc == "musl" {
			o = fail
		}
		b.add("", c.Name, RunAlone, o, o, o, o)
	}
	r = b.done()
	row := r.Tests[0]
	if !row.Divergent || row.Cause == nil || !strings.Contains(row.Cause.Evidence, "TestMain: setup failed") {
		t.Fatalf("package row %+v cause %+v", row, row.Cause)
	}
}

// Issue 20, measured: a package that does not compile on arm64 was told
// as "architecture-dependent behaviour", with axes "arch, race", and no
// compile error. Race only follows the arch there (emulated cells run
// without it); the cause is the build failure, named.
func TestBuildFailureDivergenceNamesTheError(t *testing.T) {
	four := []Cell{g26a, g26r, m26a, m26r}
	pkg := TestRow{Package: "p"}
	for _, c := range four {
		res := Result{Cell: c.Name, Outcome: pass}
		if c.Cell.Arch == "arm64" {
			res.Outcome, res.Output = testjson.BuildFail, "# p [p.test]\n./sum_test.go:9:7: undefined: sumAVX\n"
		}
		pkg.Results = append(pkg.Results, res)
	}
	b := newReport(four, pkg)
	for _, c := range four {
		o := pass
		if c.Cell.Arch == "arm64" {
			o = testjson.BuildFail
		}
		b.add("", c.Name, RunAlone, o, o, o, o)
	}
	r := b.done()
	if len(r.Divergences) != 1 {
		t.Fatalf("divergences %+v", r.Divergences)
	}
	d := r.Divergences[0]
	if !slices.Equal(d.Axes, []string{AxisArch}) {
		t.Errorf("axes %v, want arch alone (race only follows it)", d.Axes)
	}
	if d.Cause.ID != "build-fail" || !strings.Contains(d.Cause.Text, "linux/arm64") || !strings.Contains(d.Cause.Evidence, "undefined: sumAVX") {
		t.Errorf("cause %+v", d.Cause)
	}
	if s := Subjects(r); len(s) != 0 {
		t.Errorf("a build failure is explained by its compiler, not by experiments: %+v", s)
	}
}

// A merged report's re-runs come from elsewhere: each is folded in once.
func TestAddRerunsFoldsOnce(t *testing.T) {
	two := []Cell{g26a, m26a}
	r := newReport(two, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail})).done()
	recs := []RerunOf{
		{Package: "p", Test: "TestX", Cell: g26a.Name, Rerun: Rerun{Kind: RunAlone, Index: 1, Outcome: pass}},
		{Package: "p", Test: "TestX", Cell: m26a.Name, Rerun: Rerun{Kind: RunAlone, Index: 1, Outcome: fail}},
	}
	got, err := AddReruns(r, recs)
	if err != nil {
		t.Fatal(err)
	}
	if n := needsOf(got, "TestX", RunAlone); !slices.Equal(n[g26a.Name], []int{2}) {
		t.Errorf("needs %v after one run each", n)
	}
	if len(sortedRuns(rowNamed(t, r, "TestX").Results[0], RunAlone)) != 0 {
		t.Error("AddReruns changed its input")
	}
	if _, err := AddReruns(got, recs[:1]); err == nil || !strings.Contains(err.Error(), "already in the report") {
		t.Errorf("twice: %v", err)
	}
	if _, err := AddReruns(got, []RerunOf{{Package: "p", Test: "TestY", Cell: g26a.Name}}); err == nil {
		t.Error("a row the report lacks")
	}
}

// Cells cut short are never compared, and a row failing only there asks
// for nothing.
func TestUncomparedCellsAskForNothing(t *testing.T) {
	cut := mkCell("1.26.8", "musl", "amd64", true, job.StatusTimeout)
	r := newReport([]Cell{g26a, cut}, first("p", "TestX", map[string]testjson.Outcome{g26a.Name: pass, cut.Name: testjson.Timeout})).done()
	if n := Needs(r, NextLook); len(n) != 0 {
		t.Errorf("needs %+v", n)
	}
}

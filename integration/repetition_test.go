package integration

import (
	"bytes"
	"context"
	"encoding/xml"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/render"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// Issue 14: verdicts that hold under repetition, on real containers. The
// planted cases are testdata/repetition (and testdata/hostile for the
// forged package end); each test runs only its own packages.

const repetition = "example.com/repetition/"

func repetitionDir(t *testing.T) string {
	d, err := filepath.Abs("../testdata/repetition")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func repRow(t *testing.T, rep report.Report, pkg, test string) report.TestRow {
	t.Helper()
	for _, r := range rep.Tests {
		if r.Package == pkg && r.Test == test {
			return r
		}
	}
	t.Fatalf("no row %s.%s", pkg, test)
	return report.TestRow{}
}

func cellNamed(rep report.Report, name string) report.Cell {
	for _, c := range rep.Cells {
		if c.Name == name {
			return c
		}
	}
	return report.Cell{}
}

// Case 4: a test of earlyend writes a package-level pass of cgovictim into
// the go command's stdout while cgovictim still builds, before its start.
// cgovictim's real events come later and win: its failing test is failing,
// in the report and in JUnit, and the forgery is a finding.
func TestForgedEarlyPackageEndLosesToTheRealStream(t *testing.T) {
	h := env(t)
	dir := hostileDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./earlyend", "./cgovictim"}, Timeout: "120s"}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)
	for _, name := range []string{glibcAMD64, muslAMD64} {
		c := cellNamed(rep, name)
		if got := hostileOutcome(rep, "cgovictim", "TestReal", name); got != testjson.Fail {
			t.Errorf("%s: cgovictim.TestReal %s, want fail (a forged package pass must not end it)", name, got)
		}
		if got := hostileOutcome(rep, "cgovictim", "TestGood", name); got != testjson.Pass {
			t.Errorf("%s: cgovictim.TestGood %s, want pass", name, got)
		}
		if c.Status != job.StatusFailed || !cellTampered(c) {
			t.Errorf("%s: status %s, tampered %v: want failed with the forgery listed", name, c.Status, c.Tampered)
		}
		t.Logf("%s: findings %v", name, c.Tampered)
	}
	if v := rep.Conclusion; v.OK || v.FailedTests != 1 {
		t.Errorf("verdict %+v, want red with cgovictim.TestReal failing", v)
	}
	var junit bytes.Buffer
	if err := render.JUnit(&junit, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Class   string    `xml:"classname,attr"`
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Suites {
		failing := false
		for _, c := range s.Cases {
			failing = failing || strings.HasSuffix(c.Class, "cgovictim") && c.Name == "TestReal" && c.Failure != nil
		}
		if !failing {
			t.Errorf("JUnit suite %s: cgovictim.TestReal is not a failure", s.Name)
		}
	}
}

// Case 7: a test that forks until the pids cgroup refuses, then hides it
// and passes: go test exits 0, and the cell is resource-limit, read from
// the cgroup's own counter.
func TestPidsLimitHitWithExitZero(t *testing.T) {
	h := env(t)
	dir := repetitionDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./quietfork"}, CellPids: 256, Race: "off", Timeout: "120s"}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)
	for _, name := range []string{glibcAMD64, muslAMD64} {
		c := cellNamed(rep, name)
		if c.Status != job.StatusResourceLimit || !strings.Contains(c.Message, "(256)") {
			t.Errorf("%s: status %s (%s), want resource-limit at 256", name, c.Status, c.Message)
		}
	}
	if len(rep.Divergences) != 0 || rep.Conclusion.OK {
		t.Errorf("divergences %+v verdict %+v: want none, and red for the cells that hit their limit", rep.Divergences, rep.Conclusion)
	}
}

// Case 6: the musl cell is stopped at --cell-timeout while a test sleeps;
// glibc passes. The stopped cell is not compared: no divergence.
func TestCellTimeoutIsNotADivergence(t *testing.T) {
	h := env(t)
	dir := repetitionDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./slowmusl"}, CellTimeout: "150s", Timeout: "20m", Race: "off"}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)
	if c := cellNamed(rep, muslAMD64); c.Status != job.StatusTimeout {
		t.Fatalf("musl: status %s (%s), want timeout", c.Status, c.Message)
	}
	if c := cellNamed(rep, glibcAMD64); c.Status != job.StatusPassed {
		t.Fatalf("glibc: status %s (%s), want passed", c.Status, c.Message)
	}
	if r, ok := repRow(t, rep, repetition+"slowmusl", "TestSlowOnMusl").Result(muslAMD64); !ok || r.Outcome != testjson.Timeout {
		t.Errorf("musl TestSlowOnMusl = %+v, want timeout (reported, not compared)", r)
	}
	if len(rep.Divergences) != 0 || rep.Conclusion.DivergentTests != 0 || rep.Conclusion.OK {
		t.Errorf("divergences %+v verdict %+v: want none, red for the cell that did not finish", rep.Divergences, rep.Conclusion)
	}
}

// Case 1: a test failing only after its sibling ran fails in the package
// run and passes alone. With its siblings against alone, in equal numbers,
// it fails significantly more often: order-dependent, a failure, the
// verdict red. Then the bisection finds the sibling, and a test names it.
func TestOrderDependentFailure(t *testing.T) {
	h := env(t)
	dir := repetitionDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./order"}, Reruns: 2, ReRunsMax: 10, Race: "off"}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)
	row := repRow(t, rep, repetition+"order", "TestNeedsCleanState")
	for _, name := range []string{glibcAMD64, muslAMD64} {
		r, _ := row.Result(name)
		alone, sibs := r.Outcomes(report.RunAlone), r.Outcomes(report.RunSiblings)
		if !r.OrderDependent || r.Outcome != testjson.Fail || len(sibs) < 2 || len(alone) != 2+len(sibs) ||
			slices.ContainsFunc(alone, testjson.Outcome.Failed) || slices.ContainsFunc(sibs, func(o testjson.Outcome) bool { return !o.Failed() }) {
			t.Errorf("%s: order-dependent %v, first %s, alone %v, with siblings %v: want every run with siblings failing, every run alone passing", name, r.OrderDependent, r.Outcome, alone, sibs)
		}
	}
	if !row.Failed || !row.OrderDependent || row.Flaky || len(rep.Flaky) != 0 || row.Cause == nil || row.Cause.ID != "order-dependent" {
		t.Errorf("row %+v flaky %+v", row, rep.Flaky)
	}
	if v := rep.Conclusion; v.OK || v.FailedTests != 1 || v.FlakyTests != 0 || v.Provisional {
		t.Errorf("verdict %+v, want red with one failing test", v)
	}
	// The bisection over its five siblings points at the one it depends
	// on, in one cell, within report.MaxProbes runs; the culprit test names
	// it.
	var culprit *report.Decision
	for i, d := range row.Decisions {
		if d.Claim == "culprit" {
			culprit = &row.Decisions[i]
		}
	}
	if culprit == nil || !culprit.Holds || culprit.Subject != "TestLeavesStateBehind" || !strings.Contains(row.Cause.Text, "fails after TestLeavesStateBehind runs") {
		t.Errorf("culprit %+v cause %+v: want TestLeavesStateBehind named", culprit, row.Cause)
	}
	probes := 0
	for _, r := range row.Results {
		for _, p := range r.Reruns {
			if p.Kind != report.RunProbe {
				continue
			}
			probes++
			if p.Outcome.Failed() != slices.Contains(p.Siblings, "TestLeavesStateBehind") {
				t.Errorf("%s: probe %+v: fails exactly when the culprit runs before it", r.Cell, p)
			}
		}
	}
	if probes == 0 || probes > report.MaxProbes {
		t.Errorf("%d bisection runs", probes)
	}
	t.Logf("cause: %s; %s", row.Cause.Text, row.Cause.Evidence)
}

// Cases 2 and 3: a test failing three runs in four on musl (its first
// run always) and never on glibc is an intermittent divergence on libc,
// decided on alone re-runs (up to --reruns-max 20 here: two cells, one a
// side, need more runs than eight), not flaky; and no experiment confirms
// a cause by chance: each must beat its control, and only the passing
// libc's image does.
func TestIntermittentDivergenceIsNotConfirmedByChance(t *testing.T) {
	h := env(t)
	dir := repetitionDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./intermittent"}, Reruns: 2, ReRunsMax: 20, Explain: "on"}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)
	row := repRow(t, rep, repetition+"intermittent", "TestFailsOftenOnMusl")
	if len(rep.Divergences) != 1 {
		t.Fatalf("divergences %+v flaky %+v", rep.Divergences, rep.Flaky)
	}
	d := rep.Divergences[0]
	if !d.Intermittent || strings.Join(d.Axes, ",") != "libc" || !d.Decision.Holds || d.PValue > d.Decision.Threshold || !row.Divergent {
		t.Errorf("divergence %+v", d)
	}
	t.Logf("%s (%s)", report.CountsText(d.Counts), d.Decision.Text())
	for _, c := range d.Counts {
		if c.Cell == glibcAMD64 && c.Fail != 0 || c.Cell == muslAMD64 && c.Fail == 0 || c.Runs < 2 {
			t.Errorf("counts %+v", d.Counts)
		}
	}
	if len(rep.Flaky) != 0 || rep.Conclusion.OK || rep.Conclusion.DivergentTests != 1 {
		t.Errorf("flaky %+v verdict %+v", rep.Flaky, rep.Conclusion)
	}
	e := row.Explanation
	if e == nil {
		t.Fatal("no experiments")
	}
	t.Logf("explain: %s", e.Text)
	// Only the passing libc's image flips it (the test fails on musl only,
	// by its C headers); no experiment that leaves musl in place may beat
	// the control.
	if !e.Confirmed || e.Experiment != "libc-image" || e.Control.Runs != e.RunsPerArm {
		t.Errorf("explanation %+v: want confirmed by libc-image against a control of %d runs", e, e.RunsPerArm)
	}
	for _, tr := range e.Tried {
		if tr.ID != "libc-image" && e.Decision != nil && tr.Runs == e.RunsPerArm && tr.PValue <= e.Decision.Threshold {
			t.Errorf("%s beat the control (%d of %d): a random failure confirmed by chance", tr.ID, tr.Passes, tr.Runs)
		}
	}
	var term bytes.Buffer
	if err := render.Terminal(&term, rep, render.TerminalOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(term.String(), "intermittent: alone, fails ") {
		t.Errorf("terminal:\n%s", term.String())
	}
	t.Logf("terminal:\n%s", term.String())
}

// Case 3 (experiments that exist for the planted cases): the arm64 FMA
// divergence of the fixture (arch.TestFusedMultiplyAdd) is confirmed by
// turning fusion off, against its control.
func TestFMAExperimentConfirms(t *testing.T) {
	h := env(t)
	if !h.arm64 {
		t.Skip("no arm64 emulation on this machine")
	}
	eng := h.engine(t, h.fixDir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64", "arm64"}, Packages: []string{"./arch/"},
		CacheScope: scope(t, eng), Reruns: 2, ReRunsMax: 10, Explain: "on"}
	rep, _ := h.run(t, context.Background(), eng, req, runner.Options{})
	keep(t, rep)
	r := repRow(t, rep, "example.com/fixture/arch", "TestFusedMultiplyAdd")
	e := r.Explanation
	if !r.Divergent || e == nil {
		t.Fatalf("row %+v", r)
	}
	t.Logf("explain: %s; tried %+v", e.Text, e.Tried)
	if !e.Confirmed || e.Experiment != "fma-off" || !strings.HasPrefix(e.Text, "confirmed: passes ") || e.Control.Passes != 0 {
		t.Errorf("explanation %+v, want confirmed by fma-off", e)
	}
	var term bytes.Buffer
	if err := render.Terminal(&term, rep, render.TerminalOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	t.Logf("terminal:\n%s", term.String())
}

// Issue 20, measured on real containers: tests that fail at random, alike
// in every cell, were called divergent, order-dependent and "confirmed",
// and the verdict was red 3 runs of 3. Now they are flaky and nothing
// else, and the verdict is green; a test that skips itself on musl is
// told as skipped there, and fails nothing.
func TestFlakyAlikeIsOnlyFlaky(t *testing.T) {
	h := env(t)
	dir := repetitionDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./flakyalike", "./skipped"}, Reruns: 2, ReRunsMax: 10, Explain: "auto"}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)
	var term bytes.Buffer
	render.Terminal(&term, rep, render.TerminalOptions{Width: 120})
	t.Logf("terminal:\n%s", term.String())
	screened := 0
	for _, row := range rep.Tests {
		if row.Package != repetition+"flakyalike" || row.IsPackage() {
			continue
		}
		if row.Divergent || row.OrderDependent || row.Failed || row.Explanation != nil {
			t.Errorf("%s: divergent %v order-dependent %v failed %v explained %v: a test flaky alike everywhere is flaky, nothing else",
				row.Test, row.Divergent, row.OrderDependent, row.Failed, row.Explanation != nil)
		}
		for _, res := range row.Results {
			if len(res.Reruns) > 0 {
				screened++
				break
			}
		}
	}
	// The draws are seeded (testdata/repetition/flakyalike): some first
	// runs fail, so the re-runs and their tests did run.
	if screened < 2 || len(rep.Flaky) < 2 {
		t.Errorf("%d tests re-run, %d flaky: the fixture's draws no longer fail first runs", screened, len(rep.Flaky))
	}
	skip := repRow(t, rep, repetition+"skipped", "TestNeedsGlibc")
	if skip.Divergent || skip.Failed || !slices.ContainsFunc(rep.Divergences, func(d report.Divergence) bool { return d.Mild && d.Test == "TestNeedsGlibc" }) {
		t.Errorf("the skip on musl: %+v", skip)
	}
	if !strings.Contains(term.String(), "skipped on musl (go1.26.8/musl/amd64), passes in go1.26.8/glibc/amd64") {
		t.Error("the skip is not told as such")
	}
	if v := rep.Conclusion; !v.OK || v.DivergentTests != 0 || v.FailedTests != 0 || v.Provisional {
		t.Errorf("verdict %+v: want green", v)
	}
}

// Issue 20, measured: a TestMain that exits non-zero on musl only was a
// package divergence judged on one run, with the generic libc text and
// neither its output nor an experiment. Now the package is re-run in both
// cells, decided like a test, its output shown, and the passing libc's
// image confirms it.
func TestTestMainDivergenceIsRerun(t *testing.T) {
	h := env(t)
	dir := repetitionDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./testmain"}, Reruns: 2, ReRunsMax: 10, Explain: "on"}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)
	row := repRow(t, rep, repetition+"testmain", "")
	m, _ := row.Result(muslAMD64)
	g, _ := row.Result(glibcAMD64)
	if !row.Divergent || !m.Outcome.Failed() || g.Outcome != testjson.Pass || len(m.Outcomes(report.RunAlone)) < 2 || len(g.Outcomes(report.RunAlone)) < 2 {
		t.Fatalf("package row %+v", row)
	}
	if row.Cause == nil || !strings.Contains(row.Cause.Evidence, "TestMain: the fixture's setup needs glibc") {
		t.Errorf("cause %+v: want TestMain's output", row.Cause)
	}
	if e := row.Explanation; e == nil || !e.Confirmed || e.Experiment != "libc-image" {
		t.Errorf("explanation %+v: want the passing libc's image", e)
	} else {
		t.Logf("explain: %s", e.Text)
	}
	if v := rep.Conclusion; v.OK || v.DivergentTests != 1 {
		t.Errorf("verdict %+v", v)
	}
}

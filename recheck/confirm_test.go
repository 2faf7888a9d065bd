package recheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// The runs an experiment needs: the unchanged test must have less than
// report.Alpha chance of passing all of them, at its observed failure rate
// (failures/(runs+1), so few runs are not taken for certainty).
func TestRunsToConfirm(t *testing.T) {
	for _, c := range []struct{ failures, runs, tried, want int }{
		{1, 1, 1, 5},   // rate 1/2: 0.5^5 = 0.031
		{3, 3, 1, 3},   // rate 3/4: 0.25^3 = 0.016
		{6, 8, 1, 3},   // rate 2/3: (1/3)^3 = 0.037
		{7, 10, 1, 3},  // rate 7/11: (4/11)^2 = 0.13, ^3 = 0.048
		{2, 9, 1, 10},  // rate 1/5: 0.8^n < 0.05 needs 14: capped
		{0, 3, 1, 10},  // never failed: as many as allowed
		{10, 10, 1, 2}, // rate 10/11: (1/11)^2 = 0.008
		{7, 10, 10, 6}, // ten experiments: below 0.005, (4/11)^5 = 0.0064, ^6 = 0.0023
		{3, 3, 0, 3},   // no experiment counted: as one
	} {
		if got := RunsToConfirm(c.failures, c.runs, c.tried); got != c.want {
			t.Errorf("RunsToConfirm(%d, %d, %d) = %d, want %d", c.failures, c.runs, c.tried, got, c.want)
		}
	}
}

// Measured (issue 14, case 3): a test failing about 70% of its runs on musl
// was "confirmed" by one lucky pass. An experiment confirms only when the
// test passes every one of its runs.
func TestExplainNeedsEveryRunToPass(t *testing.T) {
	s := Subject{Target: Target{"ex/a", "TestLibc"}, Fail: musl.String(), Pass: glibc.String(), Failures: 5, Runs: 7}
	pass := result(musl, job.StatusPassed, ev("run", "ex/a", "TestLibc"), ev("pass", "ex/a", "TestLibc"), ev("pass", "ex/a", ""))
	fail := result(musl, job.StatusFailed, ev("run", "ex/a", "TestLibc"), ev("fail", "ex/a", "TestLibc"), ev("fail", "ex/a", ""))
	var runs []Run
	for i := 1; i <= 3; i++ {
		runs = append(runs, Run{Cell: s.Fail, Targets: []Target{s.Target}, Trial: "c-stack-8m", Attempt: i})
	}
	e := Explain([]Subject{s}, runs, []job.Result{pass, fail, pass}, Experiments)[[2]string{"ex/a", "TestLibc"}]
	if e.Confirmed || !strings.Contains(e.Text, "8 MiB C thread stacks (passes 2 of 3)") {
		t.Errorf("a lucky pass confirmed: %+v", e)
	}
	if len(e.Tried) != 1 || e.Tried[0].Passes != 2 || e.Tried[0].Runs != 3 || e.Tried[0].Outcome != testjson.Fail {
		t.Errorf("tried %+v", e.Tried)
	}
	e = Explain([]Subject{s}, runs, []job.Result{pass, pass, pass}, Experiments)[[2]string{"ex/a", "TestLibc"}]
	if !e.Confirmed || e.Text != "confirmed: passes 3 of 3 runs on go1.26.8/musl/amd64 with 8 MiB C thread stacks (unchanged, it fails 5 of 7)" {
		t.Errorf("explanation %+v", e)
	}
}

// Experiments are planned RunsToConfirm times each, from the failing
// cell's counts.
func TestPlanExperimentsRepeats(t *testing.T) {
	rep := divergentReport()
	subjects := Subjects(rep)
	if subjects[0].Failures != 1 || subjects[0].Runs != 1 {
		t.Fatalf("subject counts %+v", subjects[0])
	}
	specs := []job.Spec{spec(glibc, true, "golang:glibc@sha256:g"), spec(musl, true, "golang:musl@sha256:m"), spec(arm, false, "golang:glibc@sha256:g")}
	runs := PlanExperiments(rep, specs, nil, subjects[:1], Experiments)
	n := 0
	for _, r := range runs {
		if r.Trial == "c-stack-8m" {
			n++
			if r.Attempt != n || !slices.ContainsFunc(r.Spec.Steps[len(r.Spec.Steps)-1].Env, func(e string) bool { return strings.HasPrefix(e, "PARITY_RERUN=") }) {
				t.Errorf("run %d: attempt %d env %v", n, r.Attempt, r.Spec.Steps[len(r.Spec.Steps)-1].Env)
			}
		}
	}
	trials := map[string]bool{}
	for _, r := range runs {
		trials[r.Trial] = true
	}
	if want := RunsToConfirm(1, 1, len(trials)); n != want {
		t.Errorf("c-stack-8m planned %d times, want %d (%d experiments)", n, want, len(trials))
	}
}

func experimentRuns(t *testing.T, failCell, passCell matrix.Cell, failImg, passImg string, pins matrix.Pins) map[string]Run {
	t.Helper()
	rep := derive(report.Report{
		SchemaVersion: report.SchemaVersion,
		Cells:         []report.Cell{cellOf(failCell, failCell.Arch == matrix.AMD64, job.StatusFailed), cellOf(passCell, passCell.Arch == matrix.AMD64, job.StatusPassed)},
		Tests: []report.TestRow{{Package: "ex/a", Test: "TestX", Results: []report.Result{
			{Cell: failCell.String(), Outcome: testjson.Fail}, {Cell: passCell.String(), Outcome: testjson.Pass}}}},
	})
	specs := []job.Spec{spec(failCell, failCell.Arch == matrix.AMD64, failImg), spec(passCell, passCell.Arch == matrix.AMD64, passImg)}
	out := map[string]Run{}
	for _, r := range PlanExperiments(rep, specs, pins, Subjects(rep), Experiments) {
		out[r.Trial] = r
	}
	return out
}

// Measured (issue 14, case 3): the arm64 FMA divergence had no experiment
// that turns fusion off; the Go-version divergence's experiment did not run
// although the passing Go had a pin for the failing libc.
func TestNewExperiments(t *testing.T) {
	pins := matrix.Builtin()
	img := func(goV string, libc matrix.Libc) string {
		_, ref, err := pins.Lookup(matrix.Cell{Go: goV, Libc: libc})
		if err != nil {
			t.Fatal(err)
		}
		return ref.String()
	}
	// FMA: fails on arm64, passes on amd64.
	armCell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}
	amdCell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	runs := experimentRuns(t, armCell, amdCell, img("1.26.8", matrix.Glibc), img("1.26.8", matrix.Glibc), pins)
	if r, ok := runs["fma-off"]; !ok || !slices.Contains(r.Spec.Steps[len(r.Spec.Steps)-1].Args, "-gcflags=all=-d=fmahash=n") {
		t.Errorf("fma-off on arm64: %v %+v", ok, r.Spec.Steps)
	}
	if _, ok := experimentRuns(t, amdCell, armCell, img("1.26.8", matrix.Glibc), img("1.26.8", matrix.Glibc), pins)["fma-off"]; ok {
		t.Error("fma-off planned where the failing cell fuses nothing (amd64)")
	}
	// Go version: 1.27.1 fails, 1.26.8 passes, same libc and arch. The
	// passing Go's pin for the failing libc is the passing cell's image:
	// the experiment runs all the same (the failing cell's flags, env).
	newCell := matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}
	runs = experimentRuns(t, newCell, amdCell, img("1.27.1", matrix.Glibc), img("1.26.8", matrix.Glibc), pins)
	if r, ok := runs["go-version"]; !ok || r.Spec.Image != img("1.26.8", matrix.Glibc) {
		t.Errorf("go-version: %v %q", ok, r.Spec.Image)
	}
	// GODEBUG: the settings whose default changed after 1.26 up to 1.27,
	// read from the failing Go's own table, set to their old values.
	r, ok := runs["godebug-old"]
	script := strings.Join(r.Spec.Steps[len(r.Spec.Steps)-1].Args, " ")
	if !ok || !strings.Contains(script, "-v lo=26 -v hi=27") || !strings.Contains(script, "src/internal/godebugs/table.go") || !strings.Contains(script, "export GODEBUG=") {
		t.Errorf("godebug-old: %v %s", ok, script)
	}
	if _, ok := experimentRuns(t, amdCell, newCell, img("1.26.8", matrix.Glibc), img("1.27.1", matrix.Glibc), pins)["godebug-old"]; ok {
		t.Error("godebug-old planned where the failing Go is the older one")
	}
	// Programs: copied from glibc into musl only with a check that the copy
	// runs there (a dynamically linked Debian bash does not on Alpine).
	muslCell := matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	runs = experimentRuns(t, muslCell, amdCell, img("1.26.8", matrix.Musl), img("1.26.8", matrix.Glibc), pins)
	bash := runs["program-bash"]
	if script := strings.Join(bash.Spec.Steps[len(bash.Spec.Steps)-1].Args, " "); !strings.Contains(script, "/usr/local/bin/bash --version") || !strings.Contains(script, "cannot run here") {
		t.Errorf("program-bash without a run check: %s", script)
	}
}

// Runs are made by attempt, and an experiment whose run did not pass makes
// no more: a 70% failure costs one run per experiment, not N.
func TestNextRuns(t *testing.T) {
	tgt := []Target{{"ex/a", "TestX"}}
	var runs []Run
	for _, trial := range []string{"a", "b"} {
		for i := 1; i <= 3; i++ {
			runs = append(runs, Run{Cell: "c", Targets: tgt, Trial: trial, Attempt: i})
		}
	}
	made, passed := make([]bool, len(runs)), make([]bool, len(runs))
	if got := NextRuns(runs, made, passed); !slices.Equal(got, []int{0, 3}) {
		t.Fatalf("first round %v", got)
	}
	made[0], passed[0], made[3], passed[3] = true, true, true, false // b failed
	if got := NextRuns(runs, made, passed); !slices.Equal(got, []int{1}) {
		t.Fatalf("second round %v", got)
	}
	made[1], passed[1] = true, true
	made[2], passed[2] = true, true
	if got := NextRuns(runs, made, passed); len(got) != 0 {
		t.Fatalf("after the last round %v", got)
	}
	// Explain: a confirmed only with all three made and passed; b not.
	s := Subject{Target: tgt[0], Fail: "c", Pass: "p", Failures: 7, Runs: 10}
	pass := result(musl, job.StatusPassed, ev("run", "ex/a", "TestX"), ev("pass", "ex/a", "TestX"), ev("pass", "ex/a", ""))
	fail := result(musl, job.StatusFailed, ev("run", "ex/a", "TestX"), ev("fail", "ex/a", "TestX"), ev("fail", "ex/a", ""))
	results := []job.Result{pass, pass, pass, fail, {}, {}}
	e := Explain([]Subject{s}, runs, results, nil)[[2]string{"ex/a", "TestX"}]
	if !e.Confirmed || e.Experiment != "a" || e.Tried[1].Runs != 1 || e.Tried[1].Passes != 0 {
		t.Errorf("explanation %+v", e)
	}
	results[2] = job.Result{} // a's third run never made: not confirmed
	if e := Explain([]Subject{s}, runs, results, nil)[[2]string{"ex/a", "TestX"}]; e.Confirmed {
		t.Errorf("confirmed with a run missing: %+v", e)
	}
}

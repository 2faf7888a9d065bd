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

func plannedExperiments(t *testing.T, failCell, passCell matrix.Cell, failImg, passImg string, pins matrix.Pins) map[string]Run {
	t.Helper()
	rep := derive(report.Report{
		SchemaVersion: report.SchemaVersion,
		Cells:         []report.Cell{cellOf(failCell, failCell.Arch == matrix.AMD64, job.StatusFailed), cellOf(passCell, passCell.Arch == matrix.AMD64, job.StatusPassed)},
		Tests: []report.TestRow{{Package: "ex/a", Test: "TestX", Results: []report.Result{
			alone(report.Result{Cell: failCell.String(), Outcome: testjson.Fail}, fails6), alone(report.Result{Cell: passCell.String(), Outcome: testjson.Pass}, passes6)}}},
	})
	specs := []job.Spec{spec(failCell, failCell.Arch == matrix.AMD64, failImg), spec(passCell, passCell.Arch == matrix.AMD64, passImg)}
	out := map[string]Run{}
	for _, r := range PlanExperiments(rep, specs, pins, report.Subjects(rep), Experiments, "n") {
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
	runs := plannedExperiments(t, armCell, amdCell, img("1.26.8", matrix.Glibc), img("1.26.8", matrix.Glibc), pins)
	if r, ok := runs["fma-off"]; !ok || !slices.Contains(r.Spec.Steps[len(r.Spec.Steps)-1].Args, "-gcflags=all=-d=fmahash=n") {
		t.Errorf("fma-off on arm64: %v %+v", ok, r.Spec.Steps)
	}
	if _, ok := plannedExperiments(t, amdCell, armCell, img("1.26.8", matrix.Glibc), img("1.26.8", matrix.Glibc), pins)["fma-off"]; ok {
		t.Error("fma-off planned where the failing cell fuses nothing (amd64)")
	}
	// Go version: 1.27.1 fails, 1.26.8 passes, same libc and arch. The
	// passing Go's pin for the failing libc is the passing cell's image:
	// the experiment runs all the same (the failing cell's flags, env).
	newCell := matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}
	runs = plannedExperiments(t, newCell, amdCell, img("1.27.1", matrix.Glibc), img("1.26.8", matrix.Glibc), pins)
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
	if _, ok := plannedExperiments(t, amdCell, newCell, img("1.26.8", matrix.Glibc), img("1.27.1", matrix.Glibc), pins)["godebug-old"]; ok {
		t.Error("godebug-old planned where the failing Go is the older one")
	}
	// Programs: copied from glibc into musl only with a check that the copy
	// runs there (a dynamically linked Debian bash does not on Alpine).
	muslCell := matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	runs = plannedExperiments(t, muslCell, amdCell, img("1.26.8", matrix.Musl), img("1.26.8", matrix.Glibc), pins)
	bash := runs["program-bash"]
	if script := strings.Join(bash.Spec.Steps[len(bash.Spec.Steps)-1].Args, " "); !strings.Contains(script, "/usr/local/bin/bash --version") || !strings.Contains(script, "cannot run here") {
		t.Errorf("program-bash without a run check: %s", script)
	}
}

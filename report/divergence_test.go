package report

import (
	"slices"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/testjson"
)

// synth builds a report from cells and one row's outcomes per cell name.
func synth(cells []Cell, outcomes map[string]testjson.Outcome) Report {
	row := TestRow{Package: "p", Test: "TestX"}
	for _, c := range cells {
		if o, ok := outcomes[c.Name]; ok {
			row.Results = append(row.Results, Result{Cell: c.Name, Outcome: o})
		}
	}
	return finish(Report{SchemaVersion: SchemaVersion, Cells: cells, Tests: []TestRow{row}})
}

func mkCell(goV string, libc matrix.Libc, arch matrix.Arch, race bool, status job.Status) Cell {
	mc := matrix.Cell{Go: goV, Libc: libc, Arch: arch}
	return Cell{Cell: mc, Name: mc.String(), Race: race, Status: status}
}

var (
	g26a = mkCell("1.26.8", matrix.Glibc, matrix.AMD64, true, job.StatusPassed)
	g26r = mkCell("1.26.8", matrix.Glibc, matrix.ARM64, false, job.StatusPassed)
	m26a = mkCell("1.26.8", matrix.Musl, matrix.AMD64, true, job.StatusPassed)
	m26r = mkCell("1.26.8", matrix.Musl, matrix.ARM64, false, job.StatusPassed)
	g25a = mkCell("1.25.9", matrix.Glibc, matrix.AMD64, true, job.StatusPassed)
	m25a = mkCell("1.25.9", matrix.Musl, matrix.AMD64, true, job.StatusPassed)
)

const (
	pass = testjson.Pass
	fail = testjson.Fail
	skip = testjson.Skip
)

func TestAxes(t *testing.T) {
	four := []Cell{g26a, g26r, m26a, m26r}
	for _, c := range []struct {
		name     string
		cells    []Cell
		outcomes map[string]testjson.Outcome
		axes     []string
		outliers []string
	}{
		{"libc", four, map[string]testjson.Outcome{g26a.Name: pass, g26r.Name: pass, m26a.Name: fail, m26r.Name: fail}, []string{AxisLibc}, nil},
		// On these cells race is exactly amd64: race only follows the arch
		// (emulated cells run without it), so only the arch is offered.
		{"arch, race following it", four, map[string]testjson.Outcome{g26a.Name: fail, g26r.Name: pass, m26a.Name: fail, m26r.Name: pass}, []string{AxisArch}, nil},
		{"go", []Cell{g26a, g25a, m26a, m25a}, map[string]testjson.Outcome{g26a.Name: pass, g25a.Name: fail, m26a.Name: pass, m25a.Name: fail}, []string{AxisGo}, nil},
		{"one cell of four", four, map[string]testjson.Outcome{g26a.Name: pass, g26r.Name: pass, m26a.Name: pass, m26r.Name: fail}, []string{}, []string{m26r.Name}},
		// A tie names the failing side as the outliers.
		{"diagonal", four, map[string]testjson.Outcome{g26a.Name: pass, g26r.Name: fail, m26a.Name: fail, m26r.Name: pass}, []string{}, []string{g26r.Name, m26a.Name}},
		// Not-run is never compared: the remaining cells agree.
		{"not-run ignored", four, map[string]testjson.Outcome{g26a.Name: pass, g26r.Name: testjson.NotRun, m26a.Name: pass}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := synth(c.cells, c.outcomes)
			if c.axes == nil {
				if len(r.Divergences) != 0 {
					t.Fatalf("divergence %+v, want none", r.Divergences[0])
				}
				return
			}
			if len(r.Divergences) != 1 {
				t.Fatalf("%d divergences, want 1", len(r.Divergences))
			}
			d := r.Divergences[0]
			if !slices.Equal(d.Axes, c.axes) || !slices.Equal(d.Outliers, c.outliers) {
				t.Errorf("axes %v outliers %v, want %v %v", d.Axes, d.Outliers, c.axes, c.outliers)
			}
		})
	}
}

func TestCellsThatDidNotRunAreNotCompared(t *testing.T) {
	for _, status := range []job.Status{job.StatusNotRunnable, job.StatusEnvMismatch, job.StatusDepsFailed, job.StatusError, job.StatusCancelled} {
		broken := mkCell("1.26.8", matrix.Musl, matrix.AMD64, false, status)
		// Even with a result (a runtime that failed late), it is not compared.
		r := synth([]Cell{g26a, broken}, map[string]testjson.Outcome{g26a.Name: pass, broken.Name: fail})
		if len(r.Divergences) != 0 {
			t.Errorf("%s: divergence reported against a cell that did not run", status)
		}
		if r.Conclusion.OK || r.Conclusion.CellsNotRun != 1 {
			t.Errorf("%s: verdict %+v, want not OK with 1 cell not run", status, r.Conclusion)
		}
	}
}

func TestMildDivergence(t *testing.T) {
	r := synth([]Cell{g26a, m26a}, map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: skip})
	if len(r.Divergences) != 1 || !r.Divergences[0].Mild {
		t.Fatalf("divergences = %+v, want one mild", r.Divergences)
	}
	r = synth([]Cell{g26a, m26a}, map[string]testjson.Outcome{g26a.Name: skip, m26a.Name: fail})
	if len(r.Divergences) != 1 || r.Divergences[0].Mild {
		t.Fatalf("divergences = %+v, want one, not mild", r.Divergences)
	}
}

func TestOutcomeGroupsMostSevereFirst(t *testing.T) {
	r := synth([]Cell{g26a, g26r, m26a}, map[string]testjson.Outcome{g26a.Name: pass, g26r.Name: testjson.Timeout, m26a.Name: testjson.Panic})
	var got []testjson.Outcome
	for _, g := range r.Divergences[0].Outcomes {
		got = append(got, g.Outcome)
	}
	if want := []testjson.Outcome{testjson.Panic, testjson.Timeout, pass}; !slices.Equal(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
}

func TestGenericCauses(t *testing.T) {
	r := synth([]Cell{g26a, g26r, m26a, m26r}, map[string]testjson.Outcome{g26a.Name: pass, g26r.Name: pass, m26a.Name: fail, m26r.Name: fail})
	if c := r.Divergences[0].Cause; c.ID != "axis-libc" || !c.Generic {
		t.Errorf("cause = %+v, want generic axis-libc", c)
	}
	r = synth([]Cell{g26a, g26r, m26a, m26r}, map[string]testjson.Outcome{g26a.Name: pass, g26r.Name: pass, m26a.Name: pass, m26r.Name: fail})
	if c := r.Divergences[0].Cause; c.ID != "unexplained" {
		t.Errorf("cause = %+v, want unexplained", c)
	}
	r = synth([]Cell{g26a, m26a}, map[string]testjson.Outcome{g26a.Name: fail, m26a.Name: fail})
	if c := r.Tests[0].Cause; c == nil || c.ID != "fails-everywhere" {
		t.Errorf("cause = %+v, want fails-everywhere", c)
	}
}

// Measured (issue 14, case 6): a cell stopped at --cell-timeout was still
// compared, and its unfinished tests diverged (on arch: emulated arm64 is
// slower). Stopped for time is the machine's outcome, like killed.
func TestCellTimeoutIsNotCompared(t *testing.T) {
	slow := mkCell("1.26.8", matrix.Glibc, matrix.ARM64, false, job.StatusTimeout)
	for name, o := range map[string]testjson.Outcome{"unfinished": testjson.Timeout, "not reached": testjson.NotRun, "finished": fail} {
		r := synth([]Cell{g26a, slow}, map[string]testjson.Outcome{g26a.Name: pass, slow.Name: o})
		if len(r.Divergences) != 0 || r.Tests[0].Divergent {
			t.Errorf("%s: a timed-out cell diverged: %+v", name, r.Divergences)
		}
		if r.Conclusion.OK || r.Conclusion.CellsNotRun != 1 {
			t.Errorf("%s: verdict %+v, want red with the cell not run", name, r.Conclusion)
		}
	}
	if !job.StatusTimeout.Infrastructure() {
		t.Error("timeout is not an infrastructure outcome")
	}
}

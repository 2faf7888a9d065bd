package report

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/testjson"
)

// runsRow builds one row whose results carry every run: the first run's
// outcome and the re-runs', flaky where they disagree.
func runsRow(runs map[string][]testjson.Outcome) TestRow {
	row := TestRow{Package: "p", Test: "TestX"}
	for _, c := range []Cell{g26a, m26a, g26r, m26r} {
		rs, ok := runs[c.Name]
		if !ok {
			continue
		}
		res := Result{Cell: c.Name, Outcome: rs[0], Reruns: rs[1:]}
		_, res.Flaky = testjson.Combine(rs)
		row.Results = append(row.Results, res)
	}
	return row
}

func outcomes(s string) []testjson.Outcome {
	var out []testjson.Outcome
	for _, c := range s {
		out = append(out, map[rune]testjson.Outcome{'F': fail, 'P': pass, 'C': testjson.Crashed}[c])
	}
	return out
}

// Measured (issue 14, case 2): a cgo test that overflows musl's thread
// stacks crashed in the first run and the first re-run on musl, passed the
// second, never failed on glibc: it was reported flaky. Outcomes are counts:
// a difference in failure rates the counts support (one-sided Fisher test
// below Alpha) is a divergence, "intermittent", with its counts per cell.
func TestIntermittentDivergence(t *testing.T) {
	rep := finish(Report{SchemaVersion: SchemaVersion, Cells: []Cell{g26a, m26a}, Tests: []TestRow{runsRow(map[string][]testjson.Outcome{
		m26a.Name: outcomes("CCPCCPCC"), g26a.Name: outcomes("PPPPPPPP"),
	})}})
	if len(rep.Divergences) != 1 {
		t.Fatalf("divergences %+v, flaky %+v: want one intermittent divergence", rep.Divergences, rep.Flaky)
	}
	d := rep.Divergences[0]
	if !d.Intermittent || strings.Join(d.Axes, ",") != "libc" || d.PValue >= Alpha || d.PValue <= 0 {
		t.Errorf("divergence %+v", d)
	}
	if got := CountsText(d.Counts); got != "fails 6 of 8 on go1.26.8/musl/amd64, 0 of 8 on go1.26.8/glibc/amd64" {
		t.Errorf("counts text %q", got)
	}
	if len(rep.Flaky) != 0 || rep.Conclusion.FlakyTests != 0 || rep.Conclusion.DivergentTests != 1 || rep.Conclusion.OK {
		t.Errorf("flaky %+v verdict %+v: an intermittent divergence is a divergence, not a flake", rep.Flaky, rep.Conclusion)
	}
	if !rep.Tests[0].Divergent {
		t.Error("row not divergent")
	}
}

// Failing at similar rates everywhere is flaky; too few runs to tell is
// undecided (more re-runs, up to --reruns-max); decided flaky stays flaky.
func TestFlakyOrUndecided(t *testing.T) {
	for name, c := range map[string]struct {
		musl, glibc string
		undecided   bool
	}{
		"2 of 3 vs 0 of 3": {"FFP", "PPP", true},
		"similar rates":    {"FPP", "PFP", false},
		"1 of 9 vs 0 of 9": {"FPPPPPPPP", "PPPPPPPPP", true},
	} {
		rep := finish(Report{SchemaVersion: SchemaVersion, Cells: []Cell{g26a, m26a}, Tests: []TestRow{runsRow(map[string][]testjson.Outcome{
			m26a.Name: outcomes(c.musl), g26a.Name: outcomes(c.glibc),
		})}})
		if len(rep.Divergences) != 0 || len(rep.Flaky) != 1 {
			t.Errorf("%s: divergences %+v flaky %+v, want flaky", name, rep.Divergences, rep.Flaky)
		}
		if got := len(Undecided(rep)) == 1; got != c.undecided {
			t.Errorf("%s: undecided %v, want %v", name, got, c.undecided)
		}
	}
}

// Measured (issue 14, case 1): a test failing only after a sibling of its
// package ran failed in the package run and passed every re-run alone:
// reported flaky, and the verdict was green. Re-run with its siblings (the
// package, the first run's flags and seed) it fails again: order-dependent,
// a failure, never flaky.
func TestOrderDependentIsAFailure(t *testing.T) {
	cells := []Cell{g26a, m26a}
	first := synth(cells, map[string]testjson.Outcome{g26a.Name: fail, m26a.Name: fail})
	var rr []Rerun
	for _, c := range cells {
		rr = append(rr, Rerun{Package: "p", Test: "TestX", Cell: c.Name, Outcome: pass}, Rerun{Package: "p", Test: "TestX", Cell: c.Name, Outcome: pass})
	}
	alone := withReruns(first, rr)
	if len(alone.Flaky) != 1 {
		t.Fatalf("alone only: flaky %+v, want flaky until the siblings run", alone.Flaky)
	}
	for _, c := range cells {
		rr = append(rr, Rerun{Package: "p", Test: "TestX", Cell: c.Name, Outcome: fail, WithSiblings: true})
	}
	r := withReruns(first, rr)
	row := r.Tests[0]
	if len(r.Flaky) != 0 || row.Flaky || !row.Failed || r.Conclusion.OK || r.Conclusion.FailedTests != 1 {
		t.Fatalf("flaky %+v row %+v verdict %+v: want a failure", r.Flaky, row, r.Conclusion)
	}
	if row.Cause == nil || row.Cause.ID != "order-dependent" {
		t.Errorf("cause %+v", row.Cause)
	}
	for _, res := range row.Results {
		if !res.OrderDependent || len(res.WithSiblings) != 1 {
			t.Errorf("%s: %+v", res.Cell, res)
		}
	}
	// Passing with its siblings too: flaky after all.
	rr = rr[:4]
	for _, c := range cells {
		rr = append(rr, Rerun{Package: "p", Test: "TestX", Cell: c.Name, Outcome: pass, WithSiblings: true})
	}
	if r := withReruns(first, rr); len(r.Flaky) != 1 || r.Tests[0].Failed {
		t.Errorf("passing with siblings: flaky %+v row %+v", r.Flaky, r.Tests[0])
	}
}

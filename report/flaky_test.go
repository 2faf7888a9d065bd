package report

import (
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/testjson"
)

func reruns(cell Cell, outcomes ...testjson.Outcome) []Rerun {
	var out []Rerun
	for _, o := range outcomes {
		out = append(out, Rerun{Package: "p", Test: "TestX", Cell: cell.Name, Outcome: o})
	}
	return out
}

func TestRerunsTellFlakyFromDivergent(t *testing.T) {
	failed := func(c Cell) Cell { c.Status = job.StatusFailed; return c }
	cells := []Cell{g26a, failed(m26a)}
	first := synth(cells, map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail})
	if !first.Tests[0].Divergent || first.Conclusion.OK {
		t.Fatalf("first run should diverge: %+v", first.Tests[0])
	}

	// musl fails once in three runs, passes the others: flaky there, and
	// with glibc consistent, nothing diverges.
	r := withReruns(first, append(reruns(g26a, pass, pass), reruns(m26a, pass, pass)...))
	row := r.Tests[0]
	if row.Divergent || len(r.Divergences) != 0 || row.Failed || !row.Flaky {
		t.Fatalf("row divergent=%v failed=%v flaky=%v, want flaky only", row.Divergent, row.Failed, row.Flaky)
	}
	want := []FlakyTest{{Package: "p", Test: "TestX", Cells: []FlakyCell{{Cell: m26a.Name, Pass: 2, Fail: 1, Runs: []testjson.Outcome{fail, pass, pass}}}}}
	if len(r.Flaky) != 1 || r.Flaky[0].Cells[0].Cell != want[0].Cells[0].Cell || r.Flaky[0].Cells[0].Pass != 2 || r.Flaky[0].Cells[0].Fail != 1 ||
		!slices.Equal(r.Flaky[0].Cells[0].Runs, want[0].Cells[0].Runs) {
		t.Fatalf("flaky = %+v, want %+v", r.Flaky, want)
	}
	// The cell table counts the flaky test as flaky, not as the failure of
	// whichever run came first.
	for _, c := range r.Cells {
		if c.Name == m26a.Name && (c.Counts.Flaky != 1 || c.Counts.Fail != 0) {
			t.Errorf("%s counts %+v: want flaky 1, fail 0", c.Name, c.Counts)
		}
	}
	if !r.Conclusion.OK || r.Conclusion.FlakyTests != 1 {
		t.Fatalf("flaky alone must not fail the verdict: %+v", r.Conclusion)
	}
	if row.Cause == nil || row.Cause.ID != "flaky" {
		t.Fatalf("cause = %+v, want flaky", row.Cause)
	}

	r.Options.FailOnFlaky = true
	v := r.Verdict(false)
	if v.OK || !strings.Contains(strings.Join(v.Reasons, "\n"), "1 test flaky (--fail-on-flaky): p.TestX") {
		t.Fatalf("--fail-on-flaky verdict = %+v", v)
	}
}

func TestRerunsKeepAConsistentDivergence(t *testing.T) {
	cells := []Cell{g26a, m26a}
	first := synth(cells, map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail})
	r := withReruns(first, append(reruns(g26a, pass, pass), reruns(m26a, fail, fail)...))
	row := r.Tests[0]
	if !row.Divergent || row.Flaky || len(r.Flaky) != 0 || r.Conclusion.OK {
		t.Fatalf("consistent cells must still diverge: %+v, verdict %+v", row, r.Conclusion)
	}
	if got, _ := row.Result(m26a.Name); !slices.Equal(got.Reruns, []testjson.Outcome{fail, fail}) {
		t.Fatalf("reruns = %v", got.Reruns)
	}
}

func TestRerunsDivergenceOnlyAmongConsistentCells(t *testing.T) {
	// glibc/amd64 flaky, glibc/arm64 passes, musl fails every time: musl
	// still diverges from glibc/arm64, and the flaky cell is left out.
	cells := []Cell{g26a, g26r, m26a}
	first := synth(cells, map[string]testjson.Outcome{g26a.Name: pass, g26r.Name: pass, m26a.Name: fail})
	rr := append(reruns(g26a, fail, pass), reruns(m26a, fail, fail)...)
	r := withReruns(first, append(rr, reruns(g26r, pass, pass)...))
	if len(r.Divergences) != 1 || len(r.Flaky) != 1 {
		t.Fatalf("divergences %+v flaky %+v", r.Divergences, r.Flaky)
	}
	for _, g := range r.Divergences[0].Outcomes {
		if slices.Contains(g.Cells, g26a.Name) {
			t.Fatalf("a flaky cell was compared: %+v", r.Divergences[0].Outcomes)
		}
	}
	if !r.Tests[0].Failed {
		t.Fatal("a consistent failure is a failure")
	}
}

func TestRerunsSurviveMerge(t *testing.T) {
	a := synth([]Cell{g26a}, map[string]testjson.Outcome{g26a.Name: fail})
	a = withReruns(a, reruns(g26a, pass, pass))
	a.Tests[0].Explanation = &Explanation{Cell: g26a.Name, Text: "not confirmed"}
	b := synth([]Cell{m26a}, map[string]testjson.Outcome{m26a.Name: pass})
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Flaky) != 1 || m.Tests[0].Divergent || m.Tests[0].Explanation == nil {
		t.Fatalf("merged: flaky %+v row %+v", m.Flaky, m.Tests[0])
	}
}

// withReruns is Build's handling of re-runs, for a report made by hand: r
// is left as it was.
func withReruns(r Report, rr []Rerun) Report {
	r.Cells = slices.Clone(r.Cells)
	rows := map[rowKey]*TestRow{}
	for _, row := range r.Tests {
		row.Results = slices.Clone(row.Results)
		rows[rowKey{row.Package, row.Test}] = &row
	}
	addReruns(rows, rr)
	r.Tests = nil
	for _, row := range rows {
		r.Tests = append(r.Tests, *row)
	}
	return finish(r)
}

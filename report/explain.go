package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parity-ci/parity/testjson"
)

// Experiments (--explain): which divergent rows are explained, where, and
// what their runs, control arm included, confirm. Package recheck plans
// the runs; this is what they mean.

// Subject is one divergent row to explain: the failing cell the
// experiments run in, the passing cell each factor is flipped towards, and
// the row's alone re-runs in the failing cell (they set RunsPerArm).
type Subject struct {
	Package, Test string
	Fail, Pass    string
	Failures      int
	Runs          int
	// Alpha is the row's level for "confirmed": RowAlpha, or FamilyAlpha
	// over the subjects when that is smaller.
	Alpha float64
}

// Subjects picks, for each divergent row with a failing side (tests, and
// packages that built), the failing cell with the highest failure rate
// alone and the passing cell closest to it (fewest differing axes): the
// factor that separates them is the one to find.
func Subjects(r Report) []Subject {
	var out []Subject
	for _, d := range r.Divergences {
		if d.Mild || d.Decision.Test == "none" {
			continue
		}
		row, ok := r.row(d.Package, d.Test)
		if !ok || row.ViaSubtests || (row.IsPackage() && slices.ContainsFunc(d.Outcomes, func(g OutcomeCells) bool { return g.Outcome == testjson.BuildFail })) {
			continue
		}
		var fail, pass RunCounts
		fail.Runs, pass.Runs = 0, 0
		for _, c := range d.Counts { // highest rate first
			if c.Fail > 0 && fail.Cell == "" {
				fail = c
			}
		}
		if fail.Cell == "" {
			continue
		}
		for _, c := range d.Counts {
			if c.Fail != 0 {
				continue
			}
			if pass.Cell == "" || cellDistance(r, fail.Cell, c.Cell) < cellDistance(r, fail.Cell, pass.Cell) {
				pass = c
			}
		}
		if pass.Cell == "" {
			continue
		}
		out = append(out, Subject{Package: d.Package, Test: d.Test, Fail: fail.Cell, Pass: pass.Cell, Failures: fail.Fail, Runs: fail.Runs})
	}
	for i := range out {
		out[i].Alpha = rowAlpha(len(out))
	}
	return out
}

func (r Report) row(pkg, test string) (TestRow, bool) {
	for _, row := range r.Tests {
		if row.Package == pkg && row.Test == test {
			return row, true
		}
	}
	return TestRow{}, false
}

func cellDistance(r Report, a, b string) int {
	var ca, cb Cell
	for _, c := range r.Cells {
		switch c.Name {
		case a:
			ca = c
		case b:
			cb = c
		}
	}
	n := 0
	for _, axis := range AxisNames {
		if AxisValue(ca, axis) != AxisValue(cb, axis) {
			n++
		}
	}
	return n
}

// AutoMax is how many divergent tests --explain=auto explains at most.
const AutoMax = 10

// Explains reports whether the report's --explain asks for experiments
// for its divergences: "on" for any, "auto" for at most AutoMax.
func Explains(r Report) bool {
	n := 0
	for _, d := range r.Divergences {
		if !d.Mild && d.Decision.Test != "none" {
			n++
		}
	}
	switch r.Options.Explain {
	case "on":
		return n > 0
	case "auto":
		return n > 0 && n <= AutoMax
	}
	return false
}

// ExperimentRuns are a subject's experiment runs in its failing cell, by
// experiment id ("" for the control), each in index order.
func ExperimentRuns(r Report, s Subject) map[string][]Rerun {
	out := map[string][]Rerun{}
	row, ok := r.row(s.Package, s.Test)
	if !ok {
		return out
	}
	res, ok := row.Result(s.Fail)
	if !ok {
		return out
	}
	out[""] = sortedRuns(res, RunControl)
	for _, rr := range sortedRuns(res, RunExperiment) {
		out[rr.Trial] = append(out[rr.Trial], rr)
	}
	return out
}

// ArmLive reports whether an experiment with these runs (of n to make,
// one of experiments) still runs: every run gave an outcome, fewer than n
// were made, and it can still be confirmed (ArmAlive).
func ArmLive(runs []Rerun, n, experiments int, alpha float64) bool {
	fails := 0
	for _, r := range runs {
		if !r.Outcome.Ran() {
			return false
		}
		if r.Outcome.Failed() {
			fails++
		}
	}
	return len(runs) < n && ArmAlive(fails, n, experiments, alpha)
}

// ExplainPending reports whether a subject's experiments are not done:
// none made yet, or one still live. The experiments of a first round are
// all made together, so those made are all there are.
func ExplainPending(r Report, s Subject) bool {
	runs := ExperimentRuns(r, s)
	m := len(runs) - 1
	switch {
	case m == 0 && len(runs[""]) == 0:
		return true // not started
	case m == 0:
		return false // the control ran alone: no experiment applies
	}
	n := ArmRuns(s.Failures, s.Runs, m, s.Alpha)
	for id, rr := range runs {
		if id != "" && ArmLive(rr, n, m, s.Alpha) {
			return true
		}
	}
	return false
}

// explain derives a subject's explanation from the experiments' runs in
// its failing cell: an experiment is confirmed when it made RunsPerArm runs
// and passed significantly more often than the control's RunsPerArm
// (one-sided Fisher exact test at the subject's level over the experiments
// tried); the first confirmed in the table's order is reported.
func explain(row TestRow, s Subject) *Explanation {
	res, ok := row.Result(s.Fail)
	if !ok {
		return nil
	}
	control := sortedRuns(res, RunControl)
	byTrial := map[string][]Rerun{}
	var ids []string
	for _, r := range sortedRuns(res, RunExperiment) {
		if _, seen := byTrial[r.Trial]; !seen {
			ids = append(ids, r.Trial)
		}
		byTrial[r.Trial] = append(byTrial[r.Trial], r)
	}
	if len(ids) == 0 {
		if len(control) == 0 {
			return nil
		}
		return &Explanation{Cell: s.Fail, Passing: s.Pass, Tried: []Trial{}, Control: trialOf("control", "unchanged, alone", control),
			Text: "not confirmed: no experiment applies to this divergence"}
	}
	slices.SortStableFunc(ids, func(a, b string) int { return byTrial[a][0].Rank - byTrial[b][0].Rank })
	m := len(ids)
	n := ArmRuns(s.Failures, s.Runs, m, s.Alpha)
	t := s.Alpha / float64(m)
	e := &Explanation{Cell: s.Fail, Passing: s.Pass, RunsPerArm: n, Tried: []Trial{}}
	e.Control = trialOf("control", "unchanged, alone", control)
	cf, cr := tally(control[:min(n, len(control))])
	method := fmt.Sprintf("%s over %s", pFormat(s.Alpha), plural(m, "experiment"))
	var best *Decision
	for _, id := range ids {
		runs := byTrial[id]
		tr := trialOf(id, runs[0].Description, runs)
		if len(runs) >= n && len(control) >= n {
			f, ran := tally(runs[:n])
			tr.PValue = FisherOneSided(cf, cr, f, ran)
			d := Decision{Claim: "confirmed", Holds: tr.PValue <= t, Test: testFisher, Method: method, Alpha: s.Alpha, Threshold: t, PValue: tr.PValue, Runs: n, Subject: id,
				Hypothesis: fmt.Sprintf("passes more often with %s than unchanged, in %s", tr.Description, s.Fail)}
			if !e.Confirmed && d.Holds {
				e.Confirmed, e.Experiment = true, id
				e.Text = fmt.Sprintf("confirmed: passes %d of %d runs on %s with %s; unchanged, alone in the same rounds, it fails %d of %d (%s)",
					tr.Passes, tr.Runs, s.Fail, tr.Description, cf, cr, d.Text())
				dd := d
				best = &dd
			}
			if best == nil || (!best.Holds && d.PValue < best.PValue) {
				dd := d
				best = &dd
			}
		}
		e.Tried = append(e.Tried, tr)
	}
	e.Decision = best
	if !e.Confirmed {
		e.Text = notConfirmed(e.Control, e.Tried)
	}
	return e
}

func trialOf(id, desc string, runs []Rerun) Trial {
	tr := Trial{ID: id, Description: desc}
	for _, r := range runs {
		if !r.Outcome.Ran() {
			if tr.Error == "" {
				tr.Error = r.Error
			}
			continue
		}
		tr.Runs++
		if r.Outcome == testjson.Pass {
			tr.Passes++
		}
		if tr.Outcome == "" || tr.Outcome == testjson.Pass && r.Outcome != testjson.Pass {
			tr.Outcome = r.Outcome
		}
	}
	return tr
}

func notConfirmed(control Trial, tried []Trial) string {
	var parts []string
	for _, t := range tried {
		o := fmt.Sprintf("passes %d of %d", t.Passes, t.Runs)
		if t.Runs == 0 {
			o = "did not run"
			if t.Error != "" {
				o += ": " + t.Error
			}
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", t.Description, o))
	}
	return fmt.Sprintf("not confirmed: unchanged, alone in the same rounds, it passes %d of %d; tried %s", control.Passes, control.Runs, strings.Join(parts, ", "))
}

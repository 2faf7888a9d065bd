package report

import (
	"github.com/parity-ci/parity/testjson"
)

// finish recomputes everything derived from the cells and the rows'
// results: row flags and causes, divergences, counts and the verdict. Build
// and Merge both end here, so a merged report equals a single run's.
func finish(r Report) Report {
	if r.Cells == nil {
		r.Cells = []Cell{}
	}
	if r.Tests == nil {
		r.Tests = []TestRow{}
	}
	sortRows(r.Tests, r.Cells)
	a := assess(r)
	r.Levels = Levels{FamilyAlpha: FamilyAlpha, RowAlpha: RowAlpha, Method: Method, Looks: a.looks, OrderLooks: a.orderLooks}
	if r.Levels.Looks == nil {
		r.Levels.Looks, r.Levels.OrderLooks = []int{}, []int{}
	}
	r.Divergences = []Divergence{}
	for i := range r.Tests {
		r.Tests[i].Explanation = nil
		if d, ok := a.label(&r.Tests[i], a.rows[i], r.Tests); ok {
			r.Divergences = append(r.Divergences, d)
		}
	}
	foldSubtests(r.Tests)
	for _, s := range Subjects(r) {
		for i := range r.Tests {
			if r.Tests[i].Package == s.Package && r.Tests[i].Test == s.Test {
				r.Tests[i].Explanation = explain(r.Tests[i], s)
			}
		}
	}
	for i := range r.Cells {
		r.Cells[i].Counts = countCell(r.Cells[i], r.Tests)
	}
	r.Flaky = flakyTests(r.Tests)
	r.PendingRuns, r.PendingExplain = pending(r, a)
	r.Conclusion = r.Verdict(r.Options.AllowDivergence)
	return r
}

// countCell counts one cell's outcomes over the rows.
func countCell(c Cell, rows []TestRow) Counts {
	var n Counts
	for _, row := range rows {
		res, ok := row.Result(c.Name)
		if !ok || !res.Outcome.Ran() {
			if ok || (c.RanTests() && !row.IsPackage()) {
				n.NotRun++
			}
			continue
		}
		if res.Flaky {
			// Reported on its own, not as the outcome of whichever run
			// happened to come first.
			n.Flaky++
			continue
		}
		if row.IsPackage() && res.Cached {
			n.Cached++
		}
		if row.IsPackage() && !res.Outcome.Failed() {
			continue // a package without its own problem is counted by its tests
		}
		switch res.Outcome {
		case testjson.Pass:
			n.Pass++
		case testjson.Fail:
			n.Fail++
		case testjson.Skip:
			n.Skip++
		case testjson.Panic:
			n.Panic++
		case testjson.Timeout:
			n.Timeout++
		case testjson.Crashed:
			n.Crashed++
		case testjson.BuildFail:
			n.BuildFail++
		}
	}
	return n
}

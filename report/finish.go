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
	compared := map[string]Cell{}
	for _, c := range r.Cells {
		if c.Status.Compared() {
			compared[c.Name] = c
		}
	}
	r.Divergences = []Divergence{}
	for i := range r.Tests {
		row := &r.Tests[i]
		row.Failed, row.Flaky, row.Divergent, row.Cause = false, false, false, nil
		for j := range row.Results {
			rerunFlags(&row.Results[j])
		}
		for _, res := range row.Results {
			// A failure in a cell where the test is flaky is reported as
			// flakiness (Report.Flaky), not as a failure.
			row.Failed = row.Failed || (res.Outcome.Failed() && !res.Flaky)
			row.Flaky = row.Flaky || res.Flaky
		}
		if c, ok := raceFailure(*row, compared, r.Tests); ok {
			// A data race is the code's failure, not the platform's: the
			// cells without -race, where it passed, do not diverge from it.
			row.Cause = &c
		} else if d, ok := diverge(*row, compared); ok {
			row.Divergent = true
			if isOrderDependent(*row) {
				d.Cause = orderCause(*row)
			}
			c := d.Cause
			row.Cause = &c
			r.Divergences = append(r.Divergences, d)
		} else if d, ok := intermittent(*row, compared); ok {
			row.Divergent = true
			c := d.Cause
			row.Cause = &c
			r.Divergences = append(r.Divergences, d)
		} else if row.Failed && isOrderDependent(*row) {
			c := orderCause(*row)
			row.Cause = &c
		} else if row.Failed {
			c := diagnoseFailure(*row, compared)
			row.Cause = &c
		} else if row.Flaky {
			c := flakyCause
			row.Cause = &c
		}
	}
	for i := range r.Cells {
		r.Cells[i].Counts = countCell(r.Cells[i], r.Tests)
	}
	r.Flaky = flakyTests(r.Tests, r.Divergences)
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

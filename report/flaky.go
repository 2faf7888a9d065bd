package report

import (
	"fmt"

	"github.com/parity-ci/parity/testjson"
)

// Rerun is one re-run's outcome of one test in one cell (package recheck
// runs them; --reruns).
type Rerun struct {
	Package, Test, Cell string
	Outcome             testjson.Outcome
}

// FlakyTest is a test whose outcome varied inside at least one cell.
type FlakyTest struct {
	Package string      `json:"package"`
	Test    string      `json:"test"`
	Cells   []FlakyCell `json:"cells"` // the cells where it was flaky, in cell order
}

// FlakyCell counts one cell's runs of a flaky test: the first run's (every
// -count run) and each re-run's.
type FlakyCell struct {
	Cell string             `json:"cell"`
	Pass int                `json:"pass"` // runs that did not fail (pass or skip)
	Fail int                `json:"fail"` // runs that failed in any way
	Runs []testjson.Outcome `json:"runs"`
}

// Explanation is what the --explain experiments found for one divergent
// test: the experiment that turned it green in a cell where it failed, or
// what was tried. Experiments never change a cell's outcome.
type Explanation struct {
	Cell       string  `json:"cell"`                 // the failing cell the experiments ran in
	Passing    string  `json:"passing"`              // the passing cell each factor was flipped towards
	Confirmed  bool    `json:"confirmed"`            // an experiment made the test pass
	Experiment string  `json:"experiment,omitempty"` // its id, when confirmed
	Text       string  `json:"text"`                 // "confirmed: passes on musl/amd64 with 8 MiB C thread stacks"
	Tried      []Trial `json:"tried"`
}

// Trial is one experiment's run.
type Trial struct {
	ID          string           `json:"id"`
	Description string           `json:"description"`
	Outcome     testjson.Outcome `json:"outcome,omitempty"` // the test's outcome; empty when it did not run
	Error       string           `json:"error,omitempty"`   // why it did not run
}

// WithReruns adds re-run outcomes to the report's results and recomputes
// flakiness, divergences and the verdict: a test whose runs in one cell
// disagree is flaky there, and a cell where it is flaky takes no part in
// deciding whether it diverges.
func WithReruns(r Report, reruns []Rerun) Report {
	index := map[rowKey]int{}
	for i, row := range r.Tests {
		index[rowKey{row.Package, row.Test}] = i
	}
	for _, rr := range reruns {
		i, ok := index[rowKey{rr.Package, rr.Test}]
		if !ok || !rr.Outcome.Ran() {
			continue
		}
		row := &r.Tests[i]
		for j := range row.Results {
			if res := &row.Results[j]; res.Cell == rr.Cell {
				res.Reruns = append(res.Reruns, rr.Outcome)
				_, flaky := testjson.Combine(allRuns(*res))
				res.Flaky = res.Flaky || flaky
			}
		}
	}
	return finish(r)
}

// WithExplanations attaches experiment findings to their rows.
func WithExplanations(r Report, ex map[[2]string]Explanation) Report {
	for i := range r.Tests {
		if e, ok := ex[[2]string{r.Tests[i].Package, r.Tests[i].Test}]; ok {
			r.Tests[i].Explanation = &e
		}
	}
	return r
}

// allRuns is every run of a result: the first run's (one per -count) and
// the re-runs'.
func allRuns(res Result) []testjson.Outcome {
	runs := res.Runs
	if len(runs) == 0 {
		runs = []testjson.Outcome{res.Outcome}
	}
	return append(append([]testjson.Outcome{}, runs...), res.Reruns...)
}

// flakyTests lists the rows flaky in some cell, with per-cell counts.
func flakyTests(rows []TestRow) []FlakyTest {
	var out []FlakyTest
	for _, row := range rows {
		var cells []FlakyCell
		for _, res := range row.Results {
			if !res.Flaky {
				continue
			}
			fc := FlakyCell{Cell: res.Cell, Runs: allRuns(res)}
			for _, o := range fc.Runs {
				switch {
				case o.Failed():
					fc.Fail++
				case o.Ran():
					fc.Pass++
				}
			}
			cells = append(cells, fc)
		}
		if cells != nil {
			out = append(out, FlakyTest{Package: row.Package, Test: row.Test, Cells: cells})
		}
	}
	return out
}

// flakyVerdict is the verdict's reason for flaky tests, "" when they do
// not fail it.
func flakyVerdict(flaky []FlakyTest, failOnFlaky bool) string {
	if !failOnFlaky || len(flaky) == 0 {
		return ""
	}
	var list []string
	for _, f := range flaky {
		list = append(list, rowName(TestRow{Package: f.Package, Test: f.Test}))
	}
	return fmt.Sprintf("%s flaky (--fail-on-flaky): %s", plural(len(flaky), "test"), names(list))
}

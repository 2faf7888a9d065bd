package report

import (
	"fmt"
	"slices"

	"github.com/parity-ci/parity/testjson"
)

// RerunOf is one re-run's record and the row and cell it belongs to, as
// package recheck reads it from a run's result.
type RerunOf struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	Cell    string `json:"cell"`
	Rerun
}

// FlakyTest is a test whose outcome varied inside at least one cell, with
// no difference between cells or with its siblings that the re-runs
// support.
type FlakyTest struct {
	Package string      `json:"package"`
	Test    string      `json:"test"`
	Cells   []FlakyCell `json:"cells"` // the cells where it varied, in cell order
}

// FlakyCell counts one cell's runs of a flaky test: the first run's (every
// -count run), then its re-runs alone and with its siblings.
type FlakyCell struct {
	Cell string             `json:"cell"`
	Pass int                `json:"pass"` // runs that did not fail (pass or skip)
	Fail int                `json:"fail"` // runs that failed in any way
	Runs []testjson.Outcome `json:"runs"`
}

// Explanation is what the --explain experiments found for one divergent
// test, derived from their runs: the experiment whose runs passed
// significantly more often than the unchanged test's (the control arm,
// run alone in the same rounds), or what was tried. Experiments never
// change a cell's outcome.
type Explanation struct {
	Cell       string  `json:"cell"`                 // the failing cell the experiments ran in
	Passing    string  `json:"passing"`              // the passing cell each factor was flipped towards
	Confirmed  bool    `json:"confirmed"`            // an experiment passed significantly more often
	Experiment string  `json:"experiment,omitempty"` // its id, when confirmed
	Text       string  `json:"text"`                 // "confirmed: passes 8 of 8 runs on ... with 8 MiB C thread stacks; unchanged ..."
	Tried      []Trial `json:"tried"`
	// Control is the unchanged test's runs, alone, in the same rounds.
	Control Trial `json:"control"`
	// RunsPerArm is how many runs each arm makes to decide (ArmRuns).
	RunsPerArm int `json:"runsPerArm"`
	// Decision is the confirmed experiment's test, or the best one tried.
	Decision *Decision `json:"decision,omitempty"`
}

// Trial is one experiment's runs (or the control's).
type Trial struct {
	ID          string           `json:"id"`
	Description string           `json:"description"`
	Outcome     testjson.Outcome `json:"outcome,omitempty"` // the first run that did not pass, else pass; empty when it never ran
	Error       string           `json:"error,omitempty"`   // why it did not run
	Passes      int              `json:"passes"`
	Runs        int              `json:"runs"`
	// PValue: the control failed more often than this arm by chance
	// (experiments with every run made).
	PValue float64 `json:"pValue,omitempty"`
}

// addReruns adds re-run records to their rows' results. A record with the
// key of one already there replaces it.
func addReruns(rows map[rowKey]*TestRow, reruns []RerunOf) {
	type at struct {
		row  rowKey
		cell string
		key  rerunKey
	}
	seen := map[at]int{} // index in the result's Reruns
	for _, rr := range reruns {
		rk := rowKey{rr.Package, rr.Test}
		row, ok := rows[rk]
		if !ok {
			continue
		}
		for j := range row.Results {
			res := &row.Results[j]
			if res.Cell != rr.Cell {
				continue
			}
			k := at{rk, rr.Cell, rr.key()}
			if i, dup := seen[k]; dup {
				res.Reruns[i] = rr.Rerun
				continue
			}
			seen[k] = len(res.Reruns)
			res.Reruns = append(res.Reruns, rr.Rerun)
		}
	}
}

// allRuns is every plain run of a result the decisions read: the first
// run's (one per -count), then its re-runs alone and with its siblings
// (finish keeps those up to the looks that decided; runs made beyond them
// change no word).
func allRuns(res Result) []testjson.Outcome {
	if res.plain != nil {
		return res.plain
	}
	out := slices.Clone(firstRuns(res))
	for _, kind := range []RunKind{RunAlone, RunSiblings} {
		for _, r := range sortedRuns(res, kind) {
			if r.Outcome.Ran() {
				out = append(out, r.Outcome)
			}
		}
	}
	return out
}

// varies reports whether a result's runs disagree on failing.
func varies(res Result) bool {
	_, flaky := testjson.Combine(allRuns(res))
	return flaky
}

// flakyTests lists the rows labelled flaky, with the cells where they
// varied.
func flakyTests(rows []TestRow) []FlakyTest {
	var out []FlakyTest
	for _, row := range rows {
		if !row.Flaky || row.ViaSubtests {
			continue
		}
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

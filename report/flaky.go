package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parity-ci/parity/testjson"
)

// Rerun is one re-run's outcome of one test in one cell (package recheck
// runs them; --reruns).
type Rerun struct {
	Package, Test, Cell string
	Outcome             testjson.Outcome
	// WithSiblings: the run was the test's whole package with the first
	// run's flags and seed, not the test alone.
	WithSiblings bool
	// Siblings, for a bisection run: the only siblings that ran with it.
	Siblings []string
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
	Outcome     testjson.Outcome `json:"outcome,omitempty"` // the test's outcome (the first run that did not pass); empty when it never ran
	Error       string           `json:"error,omitempty"`   // why it did not run
	// Passes of Runs: the experiment ran Runs times (chosen from the
	// unchanged test's failure rate) and confirms only when all passed.
	Passes int `json:"passes,omitempty"`
	Runs   int `json:"runs,omitempty"`
}

// addReruns adds re-run outcomes to their rows' results, in the order
// given. finish decides from all of a result's runs whether it is flaky or
// order-dependent.
func addReruns(rows map[rowKey]*TestRow, reruns []Rerun) {
	for _, rr := range reruns {
		row, ok := rows[rowKey{rr.Package, rr.Test}]
		if !ok || !rr.Outcome.Ran() {
			continue
		}
		for j := range row.Results {
			res := &row.Results[j]
			if res.Cell != rr.Cell {
				continue
			}
			switch {
			case rr.Siblings != nil:
				res.Bisection = append(res.Bisection, Probe{Siblings: rr.Siblings, Outcome: rr.Outcome})
			case rr.WithSiblings:
				res.WithSiblings = append(res.WithSiblings, rr.Outcome)
			default:
				res.Reruns = append(res.Reruns, rr.Outcome)
			}
		}
	}
}

// rerunFlags decides, from all of a re-run result's runs, whether it is
// flaky (its runs in that cell disagree) or order-dependent (which is never
// flaky). A result without re-runs keeps what its first run said.
func rerunFlags(res *Result) {
	if len(res.Reruns)+len(res.WithSiblings) == 0 {
		return
	}
	_, flaky := testjson.Combine(allRuns(*res))
	res.Flaky = res.Flaky || flaky
	if orderDependent(*res) {
		res.Flaky, res.OrderDependent = false, true
	}
}

// orderDependent reports whether a result failed with its siblings (the
// first run, and again when its package re-ran with the same flags and
// seed) and passed every run alone: the test depends on what its siblings
// leave behind, a failure and not a flake.
func orderDependent(res Result) bool {
	first := res.Runs
	if len(first) == 0 {
		first = []testjson.Outcome{res.Outcome}
	}
	return slices.ContainsFunc(first, testjson.Outcome.Failed) &&
		len(res.Reruns) > 0 && !slices.ContainsFunc(res.Reruns, testjson.Outcome.Failed) &&
		slices.ContainsFunc(res.WithSiblings, testjson.Outcome.Failed)
}

// orderCause explains an order-dependent row, with the runs of its first
// order-dependent cell as evidence.
func orderCause(row TestRow) Cause {
	c := Cause{
		ID:   "order-dependent",
		Text: "order-dependent: fails when its package's other tests run before it (same flags and seed), passes every time alone: state shared between tests (globals, environment, files, the working directory)",
		Hint: "run the package with the -shuffle seed the cell printed, or the test after each sibling, to find the one that leaves state behind",
	}
	for _, res := range row.Results {
		if res.OrderDependent {
			c.EvidenceCell = res.Cell
			c.Evidence = fmt.Sprintf("alone: %s; with its siblings: %s", joinOutcomes(res.Reruns), joinOutcomes(res.WithSiblings))
			break
		}
	}
	for _, res := range row.Results {
		if !res.OrderDependent {
			continue
		}
		if sib, ok := Culprit(res); ok {
			c.Text = fmt.Sprintf("order-dependent: fails after %s runs (same flags and seed), passes alone: %s leaves state behind that this test depends on (globals, environment, files, the working directory)", sib, sib)
			c.Hint = fmt.Sprintf("make the test set up the state it needs, or %s clean up after itself (t.Cleanup)", sib)
			c.EvidenceCell = res.Cell
			c.Evidence += fmt.Sprintf("; bisection over its siblings (%s): fails with %s alone", plural(len(res.Bisection), "run"), sib)
			break
		}
	}
	return c
}

func joinOutcomes(os []testjson.Outcome) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = string(o)
	}
	return strings.Join(s, " ")
}

func isOrderDependent(row TestRow) bool {
	return slices.ContainsFunc(row.Results, func(r Result) bool { return r.OrderDependent })
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
func flakyTests(rows []TestRow, divergences []Divergence) []FlakyTest {
	var out []FlakyTest
	for _, row := range rows {
		if slices.ContainsFunc(divergences, func(d Divergence) bool {
			return d.Intermittent && d.Package == row.Package && d.Test == row.Test
		}) {
			continue // its failure rates differ between cells: a divergence, not a flake
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

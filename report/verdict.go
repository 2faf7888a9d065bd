package report

import (
	"fmt"
	"strings"

	"github.com/parity-ci/parity/job"
)

// maxNamed is how many tests or cells a verdict reason names before "...".
const maxNamed = 3

// Verdict concludes the report: not OK when a test failed (every run in
// some cell, or with its siblings more often than alone), a cell could not
// run its tests to the end, or (unless allowDivergence) a test diverges
// between cells: deterministically or intermittently, found by the
// decision procedure. allowDivergence forgives divergent tests, and only
// them: they are still reported, with their counts and test. A test that
// passed in some cells and skipped in others fails nothing (a skip is the
// test's own decision); flaky tests fail it only with --fail-on-flaky. A
// row counted through its subtests is counted there, once.
func (r Report) Verdict(allowDivergence bool) Verdict {
	v := Verdict{AllowDivergence: allowDivergence, Reasons: []string{}}
	if len(r.Cells) == 0 {
		v.Reasons = append(v.Reasons, "no cells")
	}
	var failed, divergent []string
	failingCells := map[string]bool{}
	for _, row := range r.Tests {
		if row.Failed && !row.ViaSubtests {
			failed = append(failed, rowName(row))
		}
		for _, res := range row.Results {
			if res.Outcome.Failed() { // flaky failures explain a failed cell too
				failingCells[res.Cell] = true
			}
		}
		if row.Divergent && !row.ViaSubtests {
			divergent = append(divergent, rowName(row))
		}
	}
	v.FailedTests, v.DivergentTests = len(failed), len(divergent)
	if len(failed) > 0 {
		v.Reasons = append(v.Reasons, fmt.Sprintf("%s failed: %s", plural(len(failed), "test"), names(failed)))
	}
	for _, c := range r.Cells {
		switch {
		case c.Status != job.StatusPassed && c.Status != job.StatusFailed:
			v.CellsNotRun++
			reason := fmt.Sprintf("cell %s did not run to the end: %s", c.Name, c.Status)
			if c.Message != "" {
				reason += ": " + c.Message
			}
			v.Reasons = append(v.Reasons, reason)
		case c.Status == job.StatusFailed && !failingCells[c.Name]:
			// The cell says it failed and no test explains it: say so rather
			// than let a broken test step pass unnoticed.
			v.Reasons = append(v.Reasons, fmt.Sprintf("cell %s failed with no failing test: see its output", c.Name))
		}
	}
	for _, c := range r.Cells {
		if len(c.Tampered) > 0 {
			v.TamperedCells++
			f := c.Tampered[0]
			v.Reasons = append(v.Reasons, fmt.Sprintf("cell %s: a test forged go test's output (%s the go command cannot print; results may be incomplete), first: %s: %s",
				c.Name, plural(len(c.Tampered), "event"), f.Package, f.Reason))
		}
	}
	if len(divergent) > 0 && !allowDivergence {
		verb := "diverge"
		if len(divergent) == 1 {
			verb = "diverges"
		}
		v.Reasons = append(v.Reasons, fmt.Sprintf("%s %s between cells: %s", plural(len(divergent), "test"), verb, names(divergent)))
	}
	v.FlakyTests = len(r.Flaky)
	if reason := flakyVerdict(r.Flaky, r.Options.FailOnFlaky); reason != "" {
		v.Reasons = append(v.Reasons, reason)
	}
	v.Reasons = append(v.Reasons, r.compileReasons()...)
	if r.PendingRuns > 0 || r.PendingExplain > 0 {
		v.Provisional = true
		var work []string
		if r.PendingRuns > 0 {
			work = append(work, plural(r.PendingRuns, "re-run")+" at the next look")
		}
		if r.PendingExplain > 0 {
			work = append(work, "the experiments of "+plural(r.PendingExplain, "divergent test"))
		}
		v.Reasons = append(v.Reasons, "provisional: the decisions still need "+strings.Join(work, " and ")+" (parity recheck --plan, then parity merge)")
	}
	if len(r.Cells) > 0 && len(r.Tests) == 0 {
		v.Reasons = append(v.Reasons, "no tests ran in any cell")
	}
	v.OK = len(v.Reasons) == 0
	return v
}

// rowName names a row for people: "pkg.TestName", or the package alone.
func rowName(row TestRow) string {
	if row.IsPackage() {
		return row.Package + " (package)"
	}
	return row.Package + "." + row.Test
}

func names(list []string) string {
	if len(list) <= maxNamed {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:maxNamed], ", ") + fmt.Sprintf(" and %d more", len(list)-maxNamed)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

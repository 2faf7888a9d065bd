package render

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// shortPackage names a package relative to the module: "cgostack" for
// "example.com/fx/cgostack", the module's last element for its root.
func shortPackage(r report.Report, pkg string) string {
	mod := r.Source.Module
	if mod != "" {
		if pkg == mod {
			return path.Base(mod)
		}
		if rel, ok := strings.CutPrefix(pkg, mod+"/"); ok {
			return rel
		}
	}
	return pkg
}

// rowLabel names a row for people: "cgostack.TestDeepCStack", or
// "cgostack (package)".
func rowLabel(r report.Report, row report.TestRow) string {
	if row.IsPackage() {
		return shortPackage(r, row.Package) + " (package)"
	}
	return shortPackage(r, row.Package) + "." + row.Test
}

// comparedCells returns the cells that ran tests, in report order: the
// columns of tests x cells tables.
func comparedCells(r report.Report) []report.Cell {
	var out []report.Cell
	for _, c := range r.Cells {
		if c.RanTests() {
			out = append(out, c)
		}
	}
	return out
}

// notRunCells returns the cells that did not complete their tests: each
// shows as its own outcome with its reason, never as a test failure.
func notRunCells(r report.Report) []report.Cell {
	var out []report.Cell
	for _, c := range r.Cells {
		if c.Status != job.StatusPassed && c.Status != job.StatusFailed {
			out = append(out, c)
		}
	}
	return out
}

// divergentRows and failingRows split the rows worth showing: divergences,
// then failures. They hold exactly the rows the verdict counts, so the
// sections' counts are its numbers; a parent test whose finding is only its
// subtests' (ViaSubtests) is counted, and shown, through them: their names
// carry it as context.
func divergentRows(r report.Report) []report.TestRow {
	return slices.DeleteFunc(slices.Clone(r.Tests), func(row report.TestRow) bool { return !row.Divergent || row.ViaSubtests })
}

func failingRows(r report.Report) []report.TestRow {
	return slices.DeleteFunc(slices.Clone(r.Tests), func(row report.TestRow) bool { return !row.Failed || row.ViaSubtests })
}

// skippedRows are the tests that passed in some cells and skipped in
// others: told as seen, failing nothing.
func skippedRows(r report.Report) []report.Divergence {
	return slices.DeleteFunc(slices.Clone(r.Divergences), func(d report.Divergence) bool { return !d.Mild })
}

// skippedText says where a test skipped: "skipped on musl (…), passes in
// …".
func skippedText(d report.Divergence) string {
	var skipped, passed []string
	for _, g := range d.Outcomes {
		switch g.Outcome {
		case testjson.Skip:
			skipped = g.Cells
		case testjson.Pass:
			passed = g.Cells
		}
	}
	where := "in " + strings.Join(skipped, ", ")
	var values []string
	for _, axis := range d.Axes {
		if v := axisValue(skipped[0], axis); v != "" {
			values = append(values, v)
		}
	}
	if len(values) > 0 {
		where = fmt.Sprintf("on %s (%s)", strings.Join(values, ", "), strings.Join(skipped, ", "))
	}
	return fmt.Sprintf("skipped %s, passes in %s", where, strings.Join(passed, ", "))
}

// axisValue is a cell's value on an axis, read from its name
// (go<version>/<libc>/<arch>); "" for race, which the name does not say.
func axisValue(cell, axis string) string {
	parts := strings.Split(cell, "/")
	i := map[string]int{report.AxisGo: 0, report.AxisLibc: 1, report.AxisArch: 2}[axis]
	if axis == report.AxisRace || len(parts) != 3 {
		return ""
	}
	return parts[i]
}

// failingTitle names the failing section.
func failingTitle(n int) string { return fmt.Sprintf("Failing (%d)", n) }

// testedText is how a divergence was decided: the counts of the alone
// re-runs it was tested on and the test, or that it was only seen.
func testedText(d report.Divergence) string {
	if d.Decision.Test == "none" {
		return "seen in one run per cell (--reruns 0): not re-run, not tested"
	}
	word := "tested"
	if d.Intermittent {
		word = "intermittent"
	}
	return fmt.Sprintf("%s: alone, %s (%s)", word, report.CountsText(d.Counts), d.Decision.Text())
}

// tamperedCells returns the cells whose test output was forged.
func tamperedCells(r report.Report) []report.Cell {
	var out []report.Cell
	for _, c := range r.Cells {
		if len(c.Tampered) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// tamperText is one finding as a line.
func tamperText(f report.Tamper) string {
	if f.Package == "" {
		return f.Reason
	}
	return f.Package + ": " + f.Reason
}

// cachedNote says which cells replayed package results from go test's
// cache, or "".
func cachedNote(r report.Report) string {
	var parts []string
	for _, c := range r.Cells {
		if n := c.Counts.Cached; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c.Name, n))
		}
	}
	if parts == nil {
		return ""
	}
	return "packages replayed from go test's cache, not run this time (" + strings.Join(parts, ", ") + "): run with --count=1 to run them"
}

// redundantParent reports whether every failing result of the row is a
// plain fail in a cell where one of its subtests also failed.
func redundantParent(rows []report.TestRow, row report.TestRow) bool {
	if row.IsPackage() {
		return false
	}
	failed := false
	for _, res := range row.Results {
		if !res.Outcome.Failed() {
			continue
		}
		failed = true
		if res.Outcome != testjson.Fail || !childFailed(rows, row, res.Cell) {
			return false
		}
	}
	return failed
}

func childFailed(rows []report.TestRow, parent report.TestRow, cell string) bool {
	for _, row := range rows {
		if row.Package == parent.Package && strings.HasPrefix(row.Test, parent.Test+"/") {
			if res, ok := row.Result(cell); ok && res.Outcome.Failed() {
				return true
			}
		}
	}
	return false
}

// outcomeIn returns the row's outcome in the cell, not-run when absent.
func outcomeIn(row report.TestRow, cell string) testjson.Outcome {
	if res, ok := row.Result(cell); ok {
		return res.Outcome
	}
	return testjson.NotRun
}

// failingResults returns the row's failing results, or for a pass/skip
// divergence its skipped ones: the results whose output explains the row.
func failingResults(row report.TestRow) []report.Result {
	var failed, skipped []report.Result
	for _, res := range row.Results {
		switch {
		case res.Outcome.Failed():
			failed = append(failed, res)
		case res.Outcome == testjson.Skip:
			skipped = append(skipped, res)
		}
	}
	if failed != nil {
		return failed
	}
	return skipped
}

// shortDigest returns the first 12 hex digits of the manifest the cell
// ran (its platform digest). A cell that never got one (it could not pull,
// or did not run) shows its pin's index digest, marked "index": the two
// digests name different things and must not look alike in one column.
func shortDigest(c report.Cell) string {
	short := func(d string) string {
		d = strings.TrimPrefix(d, "sha256:")
		return d[:min(len(d), 12)]
	}
	if c.PlatformDigest != "" {
		return short(c.PlatformDigest)
	}
	if _, after, ok := strings.Cut(c.Image, "@"); ok && after != "" {
		return "index " + short(after)
	}
	return "-"
}

// duration formats seconds for tables: "0.4s", "23.5s", "1m01s", "1h02m".
func duration(s float64) string {
	switch {
	case s <= 0:
		return "-"
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}

// decisionGroup is a decision and the cells it applied to; All when every
// cell took it.
type decisionGroup struct {
	Decision job.Decision
	Cells    []string
	All      bool
}

// condenseDecisions lists each distinct decision once with its cells, the
// ones every cell shares first, then per cell in cell order.
func condenseDecisions(r report.Report) []decisionGroup {
	var groups []decisionGroup
	for _, c := range r.Cells {
		for _, d := range c.Decisions {
			i := slices.IndexFunc(groups, func(g decisionGroup) bool { return g.Decision == d })
			if i < 0 {
				groups = append(groups, decisionGroup{Decision: d})
				i = len(groups) - 1
			}
			if !slices.Contains(groups[i].Cells, c.Name) {
				groups[i].Cells = append(groups[i].Cells, c.Name)
			}
		}
	}
	for i := range groups {
		groups[i].All = len(r.Cells) > 1 && len(groups[i].Cells) == len(r.Cells)
	}
	slices.SortStableFunc(groups, func(a, b decisionGroup) int {
		switch {
		case a.All && !b.All:
			return -1
		case b.All && !a.All:
			return 1
		}
		return 0
	})
	return groups
}

// verdictLine is the verdict in one short line: PASS or FAIL with counts.
// The reasons themselves are listed by each renderer.
func verdictLine(v report.Verdict) string {
	var parts []string
	if v.FailedTests > 0 {
		parts = append(parts, plural(v.FailedTests, "failed test"))
	}
	if v.DivergentTests > 0 {
		d := plural(v.DivergentTests, "divergent test")
		if v.AllowDivergence {
			d += " (allowed)"
		}
		parts = append(parts, d)
	}
	if v.FlakyTests > 0 {
		parts = append(parts, plural(v.FlakyTests, "flaky test"))
	}
	if v.CellsNotRun > 0 {
		parts = append(parts, plural(v.CellsNotRun, "cell")+" did not run to the end")
	}
	if v.TamperedCells > 0 {
		parts = append(parts, plural(v.TamperedCells, "cell")+" with forged test output")
	}
	word := "PASS"
	if v.Provisional {
		parts = append(parts, "provisional: re-runs still to make")
	}
	if !v.OK {
		word = "FAIL"
		if len(parts) == 0 && len(v.Reasons) > 0 {
			parts = append(parts, v.Reasons[0])
		}
	}
	if len(parts) == 0 {
		return word
	}
	return word + ": " + strings.Join(parts, ", ")
}

// plural formats a count with its noun.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// testCount counts the test rows (not package rows).
func testCount(r report.Report) int {
	n := 0
	for _, row := range r.Tests {
		if !row.IsPackage() {
			n++
		}
	}
	return n
}

// stepEnd says how a step ended: "exited 2", or that nobody knows.
func stepEnd(s report.Step) string {
	if s.ExitUnknown {
		return "exit status unknown (the runtime went away)"
	}
	return fmt.Sprintf("exited %d", s.ExitCode)
}

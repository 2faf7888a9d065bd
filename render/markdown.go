package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// GitHub refuses step summaries over 1 MiB; these caps keep a large run's
// summary well under it. The JSON report has everything.
const (
	mdMaxRows        = 50      // rows per tests x cells table
	mdMaxDetails     = 25      // <details> blocks of output
	mdMaxOutputLines = 60      // output lines shown per cell in a <details>
	mdMaxOutputBytes = 8 << 10 // and bytes
)

// Markdown writes a GitHub-flavoured summary for $GITHUB_STEP_SUMMARY: the
// verdict, the cells, tests x cells tables of the divergent and the failing
// tests, their output in <details> blocks, the cells that did not run, and
// the decisions.
func Markdown(w io.Writer, r report.Report) error {
	m := &md{w: bufio.NewWriter(w), r: r}
	m.header()
	m.cellsTable()
	m.tampered()
	m.testsSection(fmt.Sprintf("Divergent tests (%d)", len(divergentRows(r))), divergentRows(r), true)
	m.skippedSection()
	m.flakySection() // recheck.go
	m.testsSection(failingTitle(len(failingRows(r))), failingRows(r), false)
	m.notRun()
	m.compileSection() // compile.go
	m.decisions()
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("writing markdown summary: %w", err)
	}
	return nil
}

// skippedSection lists the tests that passed in some cells and skipped in
// others.
func (m *md) skippedSection() {
	ds := skippedRows(m.r)
	if len(ds) == 0 {
		return
	}
	m.printf("### Skipped in some cells (%d)\n\nA skip is the test's own decision: told as seen, it fails nothing.\n\n| Test | Where | Why |\n|---|---|---|\n", len(ds))
	for _, d := range ds {
		m.printf("| %s | %s | %s |\n", cellText(rowLabel(m.r, report.TestRow{Package: d.Package, Test: d.Test})), cellText(skippedText(d)), cellText(d.Cause.Evidence))
	}
	m.printf("\n")
}

type md struct {
	w       *bufio.Writer
	r       report.Report
	details int // <details> blocks written so far
}

func (m *md) printf(format string, args ...any) { fmt.Fprintf(m.w, format, args...) }

func (m *md) header() {
	v := m.r.Conclusion
	mark := "✅"
	if !v.OK {
		mark = "❌"
	}
	m.printf("## %s Parity: %s\n\n", mark, escapeText(verdictLine(v)))
	src := "`" + m.r.Source.Module + "`"
	if m.r.Source.GoLine != "" {
		src += " (go " + m.r.Source.GoLine + ")"
	}
	if rev := m.r.Source.Revision; rev != "" {
		src += " at `" + rev[:min(len(rev), 12)] + "`"
	}
	m.printf("%s · %s · %s\n\n", src, plural(len(m.r.Cells), "cell"), plural(testCount(m.r), "test"))
	if !v.OK {
		for _, reason := range v.Reasons {
			m.printf("- %s\n", escapeText(reason))
		}
		m.printf("\n")
	}
}

func (m *md) cellsTable() {
	flaky := flakyColumn(m.r)
	if flaky {
		m.printf("| Cell | Status | Pass | Fail | Skip | Other | Flaky | Time | Image |\n")
		m.printf("|---|---|--:|--:|--:|--:|--:|--:|---|\n")
	} else {
		m.printf("| Cell | Status | Pass | Fail | Skip | Other | Time | Image |\n")
		m.printf("|---|---|--:|--:|--:|--:|--:|---|\n")
	}
	for _, c := range m.r.Cells {
		n := c.Counts
		counts := fmt.Sprintf("%d | %d | %d | %d", n.Pass, n.Fail, n.Skip, n.Other())
		if flaky {
			counts += fmt.Sprintf(" | %d", n.Flaky)
		}
		if !c.RanTests() && n == (report.Counts{}) {
			counts = strings.TrimSuffix(strings.Repeat("– | ", 4+boolInt(flaky)), " | ")
		}
		m.printf("| %s | %s | %s | %s | %s |\n", cellText(c.Name), cellText(string(c.Status)), counts, duration(c.DurationSeconds), cellText(shortDigest(c)))
	}
	m.printf("\n")
	if note := cachedNote(m.r); note != "" {
		m.printf("⚠️ Cached: %s\n\n", escapeText(note))
	}
	if note := replayedNote(m.r); note != "" {
		m.printf("⚠️ Cached: %s\n\n", escapeText(note))
	}
}

func (m *md) tampered() {
	cells := tamperedCells(m.r)
	if len(cells) == 0 {
		return
	}
	m.printf("### ❌ Forged test output (%s)\n\n", plural(len(cells), "cell"))
	m.printf("A test wrote events into go test's output that the go command cannot print; they were not applied, and results may be incomplete.\n\n")
	m.printf("| Cell | Package | What is impossible |\n|---|---|---|\n")
	for _, c := range cells {
		for _, f := range c.Tampered {
			m.printf("| %s | %s | %s |\n", cellText(c.Name), cellText(f.Package), cellText(f.Reason))
		}
	}
	m.printf("\n")
}

// outcomeWord is an outcome as a table cell: a mark for the eye, the word
// for screen readers and for people who do not know the marks.
func outcomeWord(o testjson.Outcome) string {
	switch {
	case o.Failed():
		return "❌ " + string(o)
	case o == testjson.Pass:
		return "✅ pass"
	case o == testjson.Skip:
		return "⏭️ skip"
	}
	return "–" // not run
}

func (m *md) testsSection(title string, rows []report.TestRow, divergent bool) {
	if len(rows) == 0 {
		return
	}
	cells := comparedCells(m.r)
	m.printf("### %s\n\n", title)
	m.printf("| Test |")
	for _, c := range cells {
		m.printf(" %s |", cellText(c.Name))
	}
	if divergent {
		m.printf(" Axis |")
	}
	m.printf(" Likely cause |\n|---|")
	for range cells {
		m.printf("---|")
	}
	if divergent {
		m.printf("---|")
	}
	m.printf("---|\n")
	for i, row := range rows {
		if i == mdMaxRows {
			m.printf("\n%d more not shown: see the JSON report.\n", len(rows)-mdMaxRows)
			break
		}
		m.printf("| %s |", cellText(rowLabel(m.r, row)))
		for _, c := range cells {
			m.printf(" %s |", outcomeWord(outcomeIn(row, c.Name)))
		}
		if divergent {
			d := divergenceOf(m.r, row)
			axis := strings.Join(d.Axes, ", ")
			if axis == "" {
				axis = "none (outliers: " + strings.Join(d.Outliers, ", ") + ")"
			}
			axis += "; " + testedText(d)
			m.printf(" %s |", cellText(axis))
		}
		cause := ""
		switch {
		case redundantParent(m.r.Tests, row):
			cause = "fails through its subtests"
		case row.Cause != nil:
			cause = row.Cause.Text
		}
		if e := row.Explanation; e != nil {
			cause += "; " + e.Text
		}
		if cachedSuffix(row.Results) != "" {
			cause += " (cached)"
		}
		m.printf(" %s |\n", cellText(cause))
	}
	m.printf("\n")
	for i, row := range rows {
		if i == mdMaxRows {
			break
		}
		if !redundantParent(m.r.Tests, row) {
			m.detailsBlock(row)
		}
	}
}

// detailsBlock writes a row's cause, hint, evidence and the output of its
// failing (or skipping) cells, folded.
func (m *md) detailsBlock(row report.TestRow) {
	if m.details == mdMaxDetails {
		m.printf("Output of further tests is in the JSON report.\n\n")
	}
	m.details++
	if m.details > mdMaxDetails {
		return
	}
	summary := rowLabel(m.r, row)
	if row.Cause != nil {
		summary += ": " + row.Cause.Text
	}
	m.printf("<details><summary>%s</summary>\n\n", htmlEscaper.Replace(summary))
	m.explanationBlock(row) // recheck.go
	if c := row.Cause; c != nil {
		if c.Hint != "" {
			m.printf("**Hint:** %s\n\n", escapeText(c.Hint))
		}
		if c.Evidence != "" {
			m.printf("**Evidence** (%s):\n\n%s\n", escapeText(c.EvidenceCell), fenced(c.Evidence))
		}
	}
	// Cells whose output is identical are shown once.
	results := failingResults(row)
	for i, res := range results {
		cells := []string{res.Cell}
		seen := false
		for j, other := range results {
			if j < i && other.Output == res.Output && other.Outcome == res.Outcome {
				seen = true
			} else if j > i && other.Output == res.Output && other.Outcome == res.Outcome {
				cells = append(cells, other.Cell)
			}
		}
		if seen {
			continue
		}
		out := lastLines(strings.TrimRight(res.Output, "\n"), mdMaxOutputLines)
		out, _ = testjson.Truncate(out, mdMaxOutputBytes)
		if out == "" {
			out = "(no output)"
		}
		m.printf("**%s** (%s):\n\n%s\n", escapeText(strings.Join(cells, ", ")), res.Outcome, fenced(out))
	}
	m.printf("</details>\n\n")
}

func (m *md) notRun() {
	cells := notRunCells(m.r)
	if len(cells) == 0 {
		return
	}
	m.printf("### Cells that did not run to the end (%d)\n\n", len(cells))
	m.printf("| Cell | Status | Message |\n|---|---|---|\n")
	for _, c := range cells {
		m.printf("| %s | %s | %s |\n", cellText(c.Name), cellText(string(c.Status)), cellText(c.Message))
	}
	m.printf("\n")
	for _, c := range cells {
		for _, s := range c.Steps {
			if s.StderrTail == "" {
				continue
			}
			m.printf("<details><summary>%s: %s step stderr</summary>\n\n%s\n</details>\n\n",
				htmlEscaper.Replace(c.Name), s.Name, fenced(s.StderrTail))
		}
	}
}

func (m *md) decisions() {
	groups := condenseDecisions(m.r)
	if len(groups) == 0 {
		return
	}
	m.printf("<details><summary>Decisions</summary>\n\n")
	m.printf("| Cells | Policy | Effect | Reason |\n|---|---|---|---|\n")
	for _, g := range groups {
		who := "all cells"
		if !g.All {
			who = strings.Join(g.Cells, ", ")
		}
		m.printf("| %s | %s | %s | %s |\n", cellText(who), cellText(g.Decision.Policy), cellText(g.Decision.Effect), cellText(g.Decision.Reason))
	}
	m.printf("\n</details>\n")
}

// cellText makes text safe inside a GFM table cell: HTML escaped (tables
// allow inline HTML, so a "<" in output could open a tag), pipes escaped,
// newlines as <br>.
func cellText(s string) string {
	s = htmlEscaper.Replace(strings.TrimRight(s, "\n"))
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "<br>")
	s = strings.ReplaceAll(s, "\n", "<br>")
	return strings.ReplaceAll(s, "\r", "")
}

// escapeText makes a line of text safe as Markdown outside tables.
func escapeText(s string) string {
	return markdownEscaper.Replace(htmlEscaper.Replace(s))
}

// htmlEscaper escapes what could start a tag or an entity; quotes are
// harmless in Markdown text and stay readable.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// markdownEscaper escapes the characters that format inline Markdown.
var markdownEscaper = strings.NewReplacer("\\", `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "\n", " ", "\r", "")

// fenced wraps text in a code fence longer than any run of backticks in it,
// so output cannot close the fence early.
func fenced(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + "text\n" + strings.TrimRight(s, "\n") + "\n" + fence + "\n"
}

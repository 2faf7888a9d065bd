package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// TerminalOptions controls the terminal summary.
type TerminalOptions struct {
	Color bool // ANSI colours for statuses and outcomes
	Width int  // cut lines longer than this; 0: never cut
}

// maxFailingShown caps the failing-everywhere list: past it the summary
// would bury the verdict; the full list is in the JSON and Markdown.
const maxFailingShown = 20

// Terminal writes a compact summary: the cells, the divergent tests with
// their per-cell outcomes, axis and likely cause, other failures briefly,
// the cells that could not run, the decisions, and the verdict last.
func Terminal(w io.Writer, r report.Report, opt TerminalOptions) error {
	t := &term{w: bufio.NewWriter(w), opt: opt}
	t.header(r)
	t.cells(r)
	t.tampered(r)
	t.divergences(r)
	t.skipped(r)
	t.flaky(r) // recheck.go
	t.failures(r)
	t.notRun(r)
	t.compile(r) // compile.go
	t.decisions(r)
	t.verdict(r.Conclusion)
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("writing terminal summary: %w", err)
	}
	return nil
}

type term struct {
	w   *bufio.Writer
	opt TerminalOptions
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

func (t *term) paint(code, s string) string {
	if !t.opt.Color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *term) outcome(o testjson.Outcome) string {
	switch {
	case o.Failed():
		return t.paint(ansiRed, string(o))
	case o == testjson.Pass:
		return t.paint(ansiGreen, string(o))
	case o == testjson.Skip:
		return t.paint(ansiYellow, string(o))
	}
	return t.paint(ansiDim, string(o))
}

func (t *term) status(s job.Status) string {
	switch s {
	case job.StatusPassed:
		return t.paint(ansiGreen, string(s))
	case job.StatusFailed:
		return t.paint(ansiRed, string(s))
	}
	return t.paint(ansiYellow, string(s))
}

// line writes one line, wrapped at spaces to the width with continuation
// lines indented two more than the first. Widths count runes and ignore
// colour codes. A single word longer than the width is cut.
func (t *term) line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if t.opt.Width <= 0 || visibleLen(s) <= t.opt.Width {
		t.w.WriteString(s + "\n")
		return
	}
	body := strings.TrimLeft(s, " ")
	first := s[:len(s)-len(body)]
	hang := first + "  "
	for i, l := range wrap(strings.Split(body, " "), t.opt.Width-len(first), t.opt.Width-len(hang)) {
		indent := first
		if i > 0 {
			indent = hang
		}
		if room := t.opt.Width - len(indent); visibleLen(l) > room {
			l = cutVisible(l, max(room-1, 1)) + "…"
			if t.opt.Color {
				l += ansiReset
			}
		}
		t.w.WriteString(indent + l + "\n")
	}
}

// wrap packs words into lines of at most first (then rest) visible runes.
func wrap(words []string, first, rest int) []string {
	var lines []string
	cur, limit := "", first
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case visibleLen(cur)+1+visibleLen(w) <= limit:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur, limit = w, rest
		}
	}
	return append(lines, cur)
}

func (t *term) heading(s string) {
	t.w.WriteString("\n")
	t.line("%s", t.paint(ansiBold, s))
}

func (t *term) header(r report.Report) {
	src := r.Source.Module
	if r.Source.GoLine != "" {
		src += " (go " + r.Source.GoLine + ")"
	}
	if rev := r.Source.Revision; rev != "" {
		src += " @ " + rev[:min(len(rev), 12)]
	}
	t.line("%s %s · %s · %s", t.paint(ansiBold, "Parity"), src, plural(len(r.Cells), "cell"), plural(testCount(r), "test"))
}

func (t *term) cells(r report.Report) {
	nameW, statusW := len("CELL"), len("STATUS")
	for _, c := range r.Cells {
		nameW = max(nameW, len(c.Name))
		statusW = max(statusW, len(c.Status))
	}
	t.w.WriteString("\n")
	flaky := flakyColumn(r)
	head := fmt.Sprintf("%5s %5s %5s %5s", "PASS", "FAIL", "SKIP", "OTHER")
	if flaky {
		head += fmt.Sprintf(" %5s", "FLAKY")
	}
	t.line("%-*s  %-*s  %s  %7s  %s", nameW, "CELL", statusW, "STATUS", head, "TIME", "IMAGE")
	for _, c := range r.Cells {
		status := t.status(c.Status) + strings.Repeat(" ", statusW-len(c.Status))
		n := c.Counts
		counts := fmt.Sprintf("%5d %5d %5d %5d", n.Pass, n.Fail, n.Skip, n.Other())
		if flaky {
			counts += fmt.Sprintf(" %5d", n.Flaky)
		}
		if !c.RanTests() && n == (report.Counts{}) {
			counts = strings.TrimSuffix(strings.Repeat("    - ", 4+boolInt(flaky)), " ")
		}
		t.line("%-*s  %s  %s  %7s  %s", nameW, c.Name, status, counts, duration(c.DurationSeconds), shortDigest(c))
	}
	if note := cachedNote(r); note != "" {
		t.line("%s", t.paint(ansiYellow, "cached: "+note))
	}
	if note := replayedNote(r); note != "" {
		t.line("%s", t.paint(ansiYellow, "cached: "+note))
	}
}

// maxTamperShown caps the findings printed per cell; the JSON has them all.
const maxTamperShown = 5

func (t *term) tampered(r report.Report) {
	cells := tamperedCells(r)
	if len(cells) == 0 {
		return
	}
	t.heading(t.paint(ansiRed, fmt.Sprintf("FORGED TEST OUTPUT (%s)", plural(len(cells), "cell"))))
	t.line("  a test wrote events into go test's output that the go command cannot print; they were not applied, and results may be incomplete")
	for _, c := range cells {
		t.line("  %s", c.Name)
		for i, f := range c.Tampered {
			if i == maxTamperShown {
				t.line("    ... and %d more", len(c.Tampered)-maxTamperShown)
				break
			}
			t.line("    %s", printable(tamperText(f)))
		}
	}
}

func (t *term) divergences(r report.Report) {
	rows := divergentRows(r)
	if len(rows) == 0 {
		return
	}
	t.heading(fmt.Sprintf("DIVERGENT (%d)", len(rows)))
	for _, row := range rows {
		d := divergenceOf(r, row)
		t.line("  %s", rowLabel(r, row))
		var groups []string
		for _, g := range d.Outcomes {
			groups = append(groups, t.outcome(g.Outcome)+": "+strings.Join(g.Cells, ", "))
		}
		t.line("    %s", strings.Join(groups, " · "))
		t.line("    %s", axisText(d))
		t.line("    %s", testedText(d))
		t.cause("    ", d.Cause)
		t.explanation("    ", row.Explanation) // recheck.go
	}
}

// divergenceOf finds the row's entry in the report's divergences.
func divergenceOf(r report.Report, row report.TestRow) report.Divergence {
	for _, d := range r.Divergences {
		if d.Package == row.Package && d.Test == row.Test {
			return d
		}
	}
	return report.Divergence{}
}

func axisText(d report.Divergence) string {
	switch {
	case len(d.Axes) == 1:
		return "axis: " + d.Axes[0]
	case len(d.Axes) > 1:
		return "axes: " + strings.Join(d.Axes, ", ") + " (each alone separates the outcomes)"
	}
	return "no single axis: differs from the majority in " + strings.Join(d.Outliers, ", ")
}

// skipped lists the tests that passed in some cells and skipped in others.
func (t *term) skipped(r report.Report) {
	ds := skippedRows(r)
	if len(ds) == 0 {
		return
	}
	t.heading(fmt.Sprintf("SKIPPED IN SOME CELLS (%d)", len(ds)))
	t.line("  %s", t.paint(ansiDim, "a skip is the test's own decision: told as seen, it fails nothing"))
	for _, d := range ds {
		t.line("  %s", rowLabel(r, report.TestRow{Package: d.Package, Test: d.Test}))
		t.line("    %s", skippedText(d))
		if d.Cause.Evidence != "" {
			t.line("    %s %s", t.paint(ansiDim, "> "+d.Cause.EvidenceCell+":"), printable(d.Cause.Evidence))
		}
	}
}

func (t *term) cause(indent string, c report.Cause) {
	if c.Text == "" {
		return
	}
	t.line("%scause: %s", indent, c.Text)
	if c.Hint != "" {
		t.line("%shint:  %s", indent, c.Hint)
	}
	if c.Evidence != "" {
		t.line("%s%s %s", indent, t.paint(ansiDim, "> "+c.EvidenceCell+":"), printable(c.Evidence))
	}
}

func (t *term) failures(r report.Report) {
	rows := failingRows(r)
	if len(rows) == 0 {
		return
	}
	t.heading(strings.ToUpper(failingTitle(len(rows))))
	for i, row := range rows {
		if i == maxFailingShown {
			t.line("  ... and %d more", len(rows)-maxFailingShown)
			break
		}
		res := failingResults(row)
		outcomes := map[testjson.Outcome]bool{}
		var words []string
		for _, x := range res {
			if !outcomes[x.Outcome] {
				outcomes[x.Outcome] = true
				words = append(words, t.outcome(x.Outcome))
			}
		}
		if redundantParent(r.Tests, row) {
			t.line("  %s  %s in %s, through its subtests", rowLabel(r, row), strings.Join(words, "/"), plural(len(res), "cell"))
			continue
		}
		t.line("  %s  %s in %s%s", rowLabel(r, row), strings.Join(words, "/"), plural(len(res), "cell"), cachedSuffix(res))
		msg := ""
		if len(res) > 0 {
			msg = report.FirstMessage(res[0].Output)
		}
		switch {
		case row.Cause != nil && !row.Cause.Generic:
			t.cause("    ", *row.Cause)
		case msg != "":
			t.line("    %s", printable(msg))
		}
	}
}

func (t *term) notRun(r report.Report) {
	cells := notRunCells(r)
	if len(cells) == 0 {
		return
	}
	t.heading(fmt.Sprintf("CELLS THAT DID NOT RUN TO THE END (%d)", len(cells)))
	for _, c := range cells {
		msg := c.Message
		if msg == "" {
			msg = "(no message)"
		}
		t.line("  %s  %s: %s", c.Name, t.status(c.Status), printable(msg))
		for _, s := range c.Steps {
			if s.StderrTail != "" || s.Error != "" {
				t.line("    step %s %s%s", s.Name, stepEnd(s), errorSuffix(s.Error))
				for l := range strings.Lines(lastLines(s.StderrTail, 3)) {
					t.line("      %s", printable(strings.TrimRight(l, "\n")))
				}
			}
		}
	}
}

// cachedSuffix marks results go test replayed from its cache.
func cachedSuffix(res []report.Result) string {
	for _, x := range res {
		if x.Cached {
			return " (cached)"
		}
	}
	return ""
}

func errorSuffix(err string) string {
	if err == "" {
		return ""
	}
	return ": " + err
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (t *term) decisions(r report.Report) {
	groups := condenseDecisions(r)
	if len(groups) == 0 {
		return
	}
	t.heading("DECISIONS")
	for _, g := range groups {
		who := "all cells"
		if !g.All {
			who = strings.Join(g.Cells, ", ")
		}
		t.line("  %s: %s=%s (%s)", who, g.Decision.Policy, g.Decision.Effect, g.Decision.Reason)
	}
}

// verdict ends the summary: the reasons, then one line with the verdict.
func (t *term) verdict(v report.Verdict) {
	t.w.WriteString("\n")
	if !v.OK {
		for _, reason := range v.Reasons {
			t.line("  - %s", reason)
		}
	}
	code := ansiBold + ansiGreen
	if !v.OK {
		code = ansiBold + ansiRed
	}
	t.line("%s", t.paint(code, verdictLine(v)))
}

// printable makes text from test output safe to print: control characters
// (a test's own colour codes, carriage returns) would garble the summary.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// visibleLen counts the runes of s outside ANSI escape sequences.
func visibleLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			i = skipEscape(s, i)
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// cutVisible keeps the first n visible runes of s, and every escape
// sequence before the cut.
func cutVisible(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			j := skipEscape(s, i)
			b.WriteString(s[i:j])
			i = j
			continue
		}
		if n == 0 {
			break
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+size])
		i += size
		n--
	}
	return b.String()
}

// skipEscape returns the index after the CSI sequence starting at i.
func skipEscape(s string, i int) int {
	j := i + 1
	if j < len(s) && s[j] == '[' {
		j++
		for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
			j++
		}
		if j < len(s) {
			j++
		}
	}
	return j
}

// flakyColumn reports whether the cells tables need a flaky column: a
// result that counts as flaky is counted nowhere else, so without it a
// cell whose tests all were flaky would read as if nothing ran.
func flakyColumn(r report.Report) bool {
	for _, c := range r.Cells {
		if c.Counts.Flaky > 0 {
			return true
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

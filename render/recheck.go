package render

import (
	"fmt"
	"strings"

	"github.com/parity-ci/parity/report"
)

// What every renderer says about re-runs (--reruns) and experiments
// (--explain): flaky tests apart from failures and divergences, and the
// experiment that confirmed a divergence's cause.

// flakyCellText is one cell's runs of a flaky test: "go1.26.8/musl/amd64:
// 2 passed, 1 failed (fail pass pass)".
func flakyCellText(c report.FlakyCell) string {
	runs := make([]string, len(c.Runs))
	for i, o := range c.Runs {
		runs[i] = string(o)
	}
	return fmt.Sprintf("%s: %d passed, %d failed (%s)", c.Cell, c.Pass, c.Fail, strings.Join(runs, " "))
}

// flakyNote says whether flaky tests fail the verdict.
func flakyNote(r report.Report) string {
	if r.Options.FailOnFlaky {
		return "they fail the verdict (--fail-on-flaky)"
	}
	return "their outcome varies between runs in one cell: not divergent, and they do not fail the verdict (--fail-on-flaky to make them)"
}

// flakyIn returns the flaky test's counts in the cell, if it is flaky there.
func flakyIn(r report.Report, row report.TestRow, cell string) (report.FlakyCell, bool) {
	for _, f := range r.Flaky {
		if f.Package != row.Package || f.Test != row.Test {
			continue
		}
		for _, c := range f.Cells {
			if c.Cell == cell {
				return c, true
			}
		}
	}
	return report.FlakyCell{}, false
}

// flakyRow returns the row of a flaky test.
func flakyRow(r report.Report, f report.FlakyTest) report.TestRow {
	for _, row := range r.Tests {
		if row.Package == f.Package && row.Test == f.Test {
			return row
		}
	}
	return report.TestRow{Package: f.Package, Test: f.Test}
}

// explanationText is the experiments' finding, with where they ran.
func explanationText(e report.Explanation) string {
	return fmt.Sprintf("%s (experiments in %s, towards %s)", e.Text, e.Cell, e.Passing)
}

// trialsText lists the arms: "unchanged, alone: passes 0 of 8; 8 MiB C
// thread stacks: passes 8 of 8; ...".
func trialsText(e report.Explanation) string {
	parts := []string{trialText(e.Control)}
	for _, t := range e.Tried {
		parts = append(parts, trialText(t))
	}
	return strings.Join(parts, "; ")
}

func trialText(t report.Trial) string {
	if t.Runs == 0 {
		o := t.Description + ": did not run"
		if t.Error != "" {
			o += ": " + t.Error
		}
		return o
	}
	return fmt.Sprintf("%s: passes %d of %d", t.Description, t.Passes, t.Runs)
}

// flaky is the terminal's FLAKY section.
func (t *term) flaky(r report.Report) {
	if len(r.Flaky) == 0 {
		return
	}
	t.heading(fmt.Sprintf("FLAKY (%d)", len(r.Flaky)))
	t.line("  %s", t.paint(ansiDim, flakyNote(r)))
	for _, f := range r.Flaky {
		t.line("  %s", rowLabel(r, flakyRow(r, f)))
		for _, c := range f.Cells {
			t.line("    %s", flakyCellText(c))
		}
	}
}

// explanation prints a divergent row's experiment finding.
func (t *term) explanation(indent string, e *report.Explanation) {
	if e == nil {
		return
	}
	text := explanationText(*e)
	if e.Confirmed {
		text = t.paint(ansiGreen, text)
	}
	t.line("%sexplain: %s", indent, text)
}

// flakySection is the Markdown summary's table of flaky tests.
func (m *md) flakySection() {
	if len(m.r.Flaky) == 0 {
		return
	}
	m.printf("### Flaky tests (%d)\n\n%s.\n\n| Test | Cell | Passed | Failed | Runs |\n|---|---|---|---|---|\n", len(m.r.Flaky), escapeText(flakyNote(m.r)))
	for _, f := range m.r.Flaky {
		label := rowLabel(m.r, flakyRow(m.r, f))
		for _, c := range f.Cells {
			runs := make([]string, len(c.Runs))
			for i, o := range c.Runs {
				runs[i] = string(o)
			}
			m.printf("| %s | %s | %d | %d | %s |\n", cellText(label), cellText(c.Cell), c.Pass, c.Fail, cellText(strings.Join(runs, " ")))
		}
	}
	m.printf("\n")
}

// explanationBlock is a divergent row's experiments, in its details.
func (m *md) explanationBlock(row report.TestRow) {
	if e := row.Explanation; e != nil {
		m.printf("**Experiment:** %s\n\nTried: %s\n\n", escapeText(explanationText(*e)), escapeText(trialsText(*e)))
	}
}

// junitRecheck adds a test case's flaky and explanation properties, and
// reports whether the case is flaky in the cell and must not be shown as a
// failure (flaky tests fail nothing without --fail-on-flaky).
func junitRecheck(r report.Report, row report.TestRow, cell string, tc *junitCase) (forgiven bool) {
	add := func(name, value string) {
		if tc.Properties == nil {
			tc.Properties = &junitCaseProperties{}
		}
		tc.Properties.Items = append(tc.Properties.Items, junitProperty{name, value})
	}
	if f, ok := flakyIn(r, row, cell); ok {
		add("flaky", flakyCellText(f))
		forgiven = !r.Options.FailOnFlaky
	}
	if e := row.Explanation; e != nil && e.Cell == cell {
		add("explanation", e.Text)
	}
	if row.Divergent {
		for _, d := range r.Divergences {
			if d.Package == row.Package && d.Test == row.Test {
				if d.Intermittent {
					add("intermittent", report.CountsText(d.Counts))
				}
				add("decision", testedText(d))
			}
		}
	}
	return forgiven
}

type junitCaseProperties struct {
	Items []junitProperty `xml:"property"`
}

// flakyCell reports whether some test is flaky in the cell: its failure
// explains the cell's failed status.
func flakyCell(r report.Report, cell string) bool {
	for _, f := range r.Flaky {
		for _, c := range f.Cells {
			if c.Cell == cell {
				return true
			}
		}
	}
	return false
}

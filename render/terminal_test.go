package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
)

func TestTerminalGolden(t *testing.T) {
	var b strings.Builder
	if err := Terminal(&b, fixtureReport(t), TerminalOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	golden(t, "terminal.golden", b.String())
}

func terminal(t *testing.T, r report.Report, opt TerminalOptions) string {
	t.Helper()
	var b strings.Builder
	if err := Terminal(&b, r, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTerminalLastLineIsTheVerdict(t *testing.T) {
	out := terminal(t, fixtureReport(t), TerminalOptions{})
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if last := lines[len(lines)-1]; last != "FAIL: 3 failed tests, 4 divergent tests, 1 cell did not run to the end" {
		t.Errorf("last line = %q", last)
	}
	// The sections count what the verdict counts: a divergent test is
	// counted once, as divergent; a parent failing only through its subtests
	// is counted through them (basic.TestTable/bad); a pass against a skip is
	// listed apart and fails nothing.
	for _, want := range []string{
		"\nDIVERGENT (4)\n",
		"\nFAILING (3)\n",
		"\n  basic.TestTable/bad  fail in 3 cells",
		"\nSKIPPED IN SOME CELLS (1)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	section := out[strings.Index(out, "\nFAILING ("):]
	section = section[:strings.Index(section, "\n\n")]
	if n := strings.Count(section, "\n  ") - strings.Count(section, "\n    "); n != 3 {
		t.Errorf("failing section lists %d tests, says 3:\n%s", n, section)
	}
}

func TestTerminalColor(t *testing.T) {
	r := fixtureReport(t)
	plain := terminal(t, r, TerminalOptions{})
	if strings.Contains(plain, "\x1b[") {
		t.Error("escape codes without Color")
	}
	colored := terminal(t, r, TerminalOptions{Color: true})
	if !strings.Contains(colored, ansiRed+"crashed"+ansiReset) || !strings.Contains(colored, ansiGreen+"pass"+ansiReset) {
		t.Error("outcomes not coloured")
	}
	// Removing the codes gives the plain text back.
	stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored, "")
	if stripped != plain {
		t.Error("coloured output differs from plain output beyond the codes")
	}
}

func TestTerminalWidth(t *testing.T) {
	for _, width := range []int{60, 80, 120} {
		for _, color := range []bool{false, true} {
			out := terminal(t, fixtureReport(t), TerminalOptions{Width: width, Color: color})
			for _, l := range strings.Split(out, "\n") {
				if n := visibleLen(l); n > width {
					t.Errorf("width %d color %v: line of %d: %q", width, color, n, l)
				}
			}
		}
	}
	// Wrapping loses no words.
	out := terminal(t, fixtureReport(t), TerminalOptions{Width: 60})
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "arm64 (also ppc64le, s390x) fuses x*y+z into one FMA instruction with a single rounding") {
		t.Error("wrapped text lost words")
	}
}

func TestTerminalSanitisesOutput(t *testing.T) {
	r := fixtureReport(t)
	for i := range r.Tests {
		if r.Tests[i].Cause != nil && r.Tests[i].Cause.Evidence != "" {
			r.Tests[i].Cause.Evidence = "\x1b[2Jcleared\rscreen"
		}
	}
	for i := range r.Divergences {
		r.Divergences[i].Cause.Evidence = "\x1b[2Jcleared\rscreen"
	}
	out := terminal(t, r, TerminalOptions{})
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\r") {
		t.Error("control characters from test output reach the terminal")
	}
}

func TestTerminalPass(t *testing.T) {
	r := report.Build(report.Meta{}, report.Runs{Cells: []job.Result{{
		Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}, Status: job.StatusPassed,
		TestJSON: readCapture(t, "go126-attrs.json"),
	}}})

	out := terminal(t, r, TerminalOptions{})
	if !strings.HasSuffix(out, "\nPASS\n") || strings.Contains(out, "DIVERGENT") || strings.Contains(out, "FAILING") {
		t.Errorf("passing report:\n%s", out)
	}
}

func TestCondenseDecisions(t *testing.T) {
	groups := condenseDecisions(fixtureReport(t))
	if len(groups) != 4 || !groups[0].All || groups[0].Decision.Policy != "network" {
		t.Fatalf("groups = %+v", groups)
	}
	for _, g := range groups[1:] {
		if g.All || len(g.Cells) != 1 || g.Decision.Policy != "race" {
			t.Errorf("group %+v", g)
		}
	}
}

// Measured (issue 14, case 9): when the daemon went away mid-step, the cell
// said "step test exited 0", which nobody knew. Every renderer says the
// exit status is unknown.
func TestLostStepSaysItsExitIsUnknown(t *testing.T) {
	cell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	r := report.Build(report.Meta{}, report.Runs{Cells: []job.Result{{Cell: cell, Status: job.StatusRuntimeLost, Message: "the daemon went away",
		Steps: []job.StepResult{{Name: job.StepTest, RuntimeLost: true, Err: "wait: unexpected EOF"}}}}})

	var term, junit strings.Builder
	if err := Terminal(&term, r, TerminalOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	if err := JUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"terminal": term.String(), "junit": junit.String()} {
		if strings.Contains(out, "exited 0") || !strings.Contains(out, "exit status unknown") {
			t.Errorf("%s:\n%s", name, out)
		}
	}
}

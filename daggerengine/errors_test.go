package daggerengine

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
)

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func TestBadInputFirstLine(t *testing.T) {
	err := BadInput(fmt.Errorf("go.mod: %w", errors.New("line 3: unknown directive\nmore")))
	if got := err.Error(); got != "parity: bad input: go.mod: line 3: unknown directive; more" {
		t.Fatalf("%q", got)
	}
	if !IsBadInput(err) || IsBadInput(errors.New("engine gone")) {
		t.Fatal("IsBadInput")
	}
	if BadInput(err) != err {
		t.Fatal("wrapped twice")
	}
	if !errors.Is(BadInput(pipeline.ErrNoGoMod), pipeline.ErrNoGoMod) {
		t.Fatal("the cause is lost")
	}
	if BadInput(nil) != nil {
		t.Fatal("nil")
	}
}

func TestVerdictFirstLine(t *testing.T) {
	for _, c := range []struct {
		v    report.Verdict
		want string
	}{
		{report.Verdict{FailedTests: 2, DivergentTests: 1, Reasons: []string{"x"}}, "parity: the verdict is red: 2 failing, 1 divergent"},
		{report.Verdict{FailedTests: 0, DivergentTests: 3, Reasons: []string{"x"}}, "parity: the verdict is red: 0 failing, 3 divergent"},
		{report.Verdict{FailedTests: 1, CellsNotRun: 1, Reasons: []string{"x"}}, "parity: the verdict is red: 1 failing, 0 divergent, 1 cell did not run"},
		{report.Verdict{CellsNotRun: 2, Reasons: []string{"x"}}, "parity: the verdict is red: 0 failing, 0 divergent, 2 cells did not run"},
		{report.Verdict{Reasons: []string{"no tests ran in any cell"}}, "parity: the verdict is red: 0 failing, 0 divergent (no tests ran in any cell)"},
		{report.Verdict{FlakyTests: 1, Reasons: []string{"1 test flaky: p.TestF"}}, "parity: the verdict is red: 0 failing, 0 divergent, 1 flaky (1 test flaky: p.TestF)"},
		{report.Verdict{FailedTests: 1, DivergentTests: 2, AllowDivergence: true, Reasons: []string{"x"}}, "parity: the verdict is red: 1 failing, 2 divergent (allowed)"},
	} {
		err := VerdictError(c.v, "SUMMARY\nlines\n")
		if err == nil {
			t.Fatalf("%+v: no error", c.v)
		}
		if got := firstLine(err.Error()); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
		if !strings.HasSuffix(err.Error(), "\nSUMMARY\nlines") {
			t.Errorf("summary missing: %q", err.Error())
		}
	}
	if VerdictError(report.Verdict{OK: true}, "s") != nil {
		t.Fatal("a green verdict is no error")
	}
}

// A red verdict and bad input never share a first line.
func TestFirstLinesDiffer(t *testing.T) {
	bad := firstLine(BadInput(errors.New("x")).Error())
	red := firstLine(VerdictError(report.Verdict{FailedTests: 1}, "").Error())
	if strings.HasPrefix(bad, redPrefix) || strings.HasPrefix(red, badInputPrefix) {
		t.Fatal(bad, red)
	}
}

// TestCheckErrorIsOneLine: `dagger check` shows the check's error alone, so
// a red verdict is its one summary line; a green one is no error.
func TestCheckErrorIsOneLine(t *testing.T) {
	red := report.Report{Conclusion: report.Verdict{FailedTests: 1, DivergentTests: 2, Reasons: []string{"x"}}}
	err := CheckError(red)
	if err == nil || err.Error() != "parity: the verdict is red: 1 failing, 2 divergent" {
		t.Fatalf("check error %v", err)
	}
	if err := CheckError(report.Report{Conclusion: report.Verdict{OK: true}}); err != nil {
		t.Fatalf("green: %v", err)
	}
}

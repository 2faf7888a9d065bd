package daggerengine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/parity-ci/parity/report"
)

// The Dagger CLI exits 1 for any function error, so the first line of the
// error is the only way a caller (a person, a CI script grepping stderr)
// tells bad input from a red verdict. These are the two first lines.
const (
	badInputPrefix = "parity: bad input: "
	redPrefix      = "parity: the verdict is red: "
)

// BadInput marks err as the caller's to fix: the arguments, go.mod, the
// lock file. Its message is one line.
func BadInput(err error) error {
	if err == nil {
		return nil
	}
	var bi *badInput
	if errors.As(err, &bi) {
		return err
	}
	return &badInput{err}
}

type badInput struct{ err error }

func (b *badInput) Error() string {
	return badInputPrefix + strings.ReplaceAll(strings.TrimSpace(b.err.Error()), "\n", "; ")
}
func (b *badInput) Unwrap() error { return b.err }

// IsBadInput reports whether err came from BadInput.
func IsBadInput(err error) bool {
	var bi *badInput
	return errors.As(err, &bi)
}

// VerdictError is nil for a green verdict; for a red one, its first line
// counts what is wrong and the lines after it are the summary.
func VerdictError(v report.Verdict, summary string) error {
	if v.OK {
		return nil
	}
	return errors.New(VerdictLine(v) + "\n" + strings.TrimRight(summary, "\n"))
}

// VerdictLine is "parity: the verdict is red: N failing, M divergent", with
// the cells that did not run and the flaky tests when there are any, and
// the verdict's first reason when none of those counts explains it (no
// tests ran at all, say).
func VerdictLine(v report.Verdict) string {
	parts := []string{fmt.Sprintf("%d failing", v.FailedTests), fmt.Sprintf("%d divergent", v.DivergentTests)}
	if v.AllowDivergence && v.DivergentTests > 0 {
		parts[1] += " (allowed)"
	}
	if v.CellsNotRun > 0 {
		parts = append(parts, plural(v.CellsNotRun, "cell")+" did not run")
	}
	if v.FlakyTests > 0 {
		parts = append(parts, fmt.Sprintf("%d flaky", v.FlakyTests))
	}
	line := redPrefix + strings.Join(parts, ", ")
	if v.FailedTests == 0 && (v.DivergentTests == 0 || v.AllowDivergence) && v.CellsNotRun == 0 && len(v.Reasons) > 0 {
		line += " (" + v.Reasons[0] + ")"
	}
	return line
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// CheckError is what `dagger check` shows for a run: nil when the verdict
// is green, else the verdict's one line (a check's output shows no
// per-test results, so the line must say what is wrong).
func CheckError(rep report.Report) error {
	v := rep.Conclusion
	if v.OK {
		return nil
	}
	return errors.New(VerdictLine(v))
}

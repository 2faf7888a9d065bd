package render

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/report"
)

// TestReplayedRunIsSaid: a cell whose test step the engine replayed from
// its cache did not run its tests this time; terminal and Markdown say so.
func TestReplayedRunIsSaid(t *testing.T) {
	r := report.Report{Cells: []report.Cell{
		{Name: "go1.27.1/glibc/amd64", Steps: []report.Step{{Name: job.StepDeps, Cached: true}, {Name: job.StepTest, Cached: true}}},
		{Name: "go1.27.1/musl/amd64", Steps: []report.Step{{Name: job.StepDeps, Cached: true}, {Name: job.StepTest}}},
	}}
	var term, md strings.Builder
	Terminal(&term, r, TerminalOptions{})
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"terminal": term.String(), "markdown": md.String()} {
		if !strings.Contains(out, "replayed from the engine's cache, not run this time (go1.27.1/glibc/amd64)") {
			t.Errorf("%s does not say the replayed cell:\n%s", name, out)
		}
	}
	if replayedNote(report.Report{Cells: r.Cells[1:]}) != "" {
		t.Error("a cell whose test step ran is not replayed")
	}
}

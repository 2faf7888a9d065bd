package report

import (
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// TestCachedCellKeepsRecordedTime: a cell the runtime replayed from cache
// reports the time its steps recorded, not the replay's half second, and
// says which steps were replayed.
func TestCachedCellKeepsRecordedTime(t *testing.T) {
	now, ran := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	cell := func(cached bool) job.Result {
		return job.Result{
			Cell: matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}, Status: job.StatusPassed,
			Duration: 500 * time.Millisecond, Started: now,
			Steps: []job.StepResult{
				{Name: job.StepProbe, Duration: 2 * time.Second, Cached: cached, Started: ran},
				{Name: job.StepTest, Duration: 10 * time.Minute, Cached: cached},
			},
		}
	}
	rep := Build(Meta{}, Runs{Cells: []job.Result{cell(true)}})
	c := rep.Cells[0]
	if c.DurationSeconds != 602 || !c.Steps[0].Cached || !c.Steps[1].Cached || c.Steps[1].DurationSeconds != 600 || !c.Started.Equal(ran) {
		t.Fatalf("replayed cell: %+v", c)
	}
	rep = Build(Meta{}, Runs{Cells: []job.Result{cell(false)}})
	if c := rep.Cells[0]; c.DurationSeconds != 0.5 || c.Steps[0].Cached || !c.Started.Equal(now) {
		t.Fatalf("fresh cell: %+v", c)
	}
}

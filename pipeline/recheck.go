package pipeline

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/parity-ci/parity/recheck"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// RecheckMerged makes, in the given cells (all when nil), every re-run and
// experiment the report asks of them, round after round, as long as it
// asks: the recheck stage of a merged report (parity recheck). It runs all
// of a test's looks at once (report.AllLooks), since the other cells' runs
// arrive only at the next merge. It returns the report with the runs
// folded in, and the runs themselves (what parity recheck writes for the
// next merge). Like Execute, it always returns what was made, even when
// ctx is cancelled.
func RecheckMerged(ctx context.Context, rep report.Report, p Plan, rt runner.Runtime, opt runner.Options, cells []string) (report.Report, []report.RerunOf, error) {
	var made []report.RerunOf
	nonce := "recheck" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for range maxRounds {
		if ctx.Err() != nil {
			break
		}
		runs := slices.DeleteFunc(recheck.Next(rep, p.Specs, p.PinSet, report.AllLooks, nonce), func(r recheck.Run) bool {
			return cells != nil && !slices.Contains(cells, r.Cell)
		})
		if len(runs) == 0 {
			break
		}
		recs := recheck.Read(runs, runRechecks(ctx, rt, runs, opt))
		next, err := report.AddReruns(rep, recs)
		if err != nil {
			return rep, made, err
		}
		rep, made = next, append(made, recs...)
	}
	return rep, made, nil
}

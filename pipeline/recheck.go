package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parity-ci/parity/job"
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
	if rs, ok := rt.(runner.RunScoped); ok {
		defer rs.BeginRun(ctx)()
	}
	var made []report.RerunOf
	nonce := "recheck" + strconv.FormatInt(time.Now().UnixNano(), 36)
	// This machine may never have run these cells: their re-runs need the
	// module cache and build cache the cell's own steps fill. A cell that
	// cannot be prepared makes no run (a re-run that cannot build would
	// read as the test's failure).
	ready, err := prepare(ctx, rep, p, rt, opt, cells)
	for range maxRounds {
		if ctx.Err() != nil {
			break
		}
		runs := slices.DeleteFunc(recheck.Next(rep, p.Specs, p.PinSet, report.AllLooks, nonce), func(r recheck.Run) bool {
			return !ready[r.Cell]
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
	return rep, made, err
}

// prepare runs, for each of the cells (all with work when nil) that the
// report asks anything of, the cell's steps but its tests (setup, probe,
// module download and verify, the build step): what a first run leaves
// behind for its re-runs. It returns the cells ready for re-runs, and an
// error naming those that are not.
func prepare(ctx context.Context, rep report.Report, p Plan, rt runner.Runtime, opt runner.Options, cells []string) (map[string]bool, error) {
	work := recheck.Work(rep)
	var specs []job.Spec
	for _, s := range p.Specs {
		name := s.Cell.String()
		if _, ok := work[name]; !ok || cells != nil && !slices.Contains(cells, name) {
			continue
		}
		s.Steps = slices.DeleteFunc(slices.Clone(s.Steps), func(st job.Step) bool { return st.Name == job.StepTest || st.Name == job.StepCompile })
		specs = append(specs, s)
	}
	ready := map[string]bool{}
	var failed []string
	for i, res := range runner.Run(ctx, rt, specs, opt) {
		name := specs[i].Cell.String()
		if res.Status == job.StatusPassed {
			ready[name] = true
			continue
		}
		msg := string(res.Status)
		if res.Message != "" {
			msg += ": " + res.Message
		}
		failed = append(failed, name+" ("+msg+")")
	}
	if len(failed) > 0 {
		return ready, fmt.Errorf("recheck: nothing was re-run in cells that could not be prepared: %s", strings.Join(failed, "; "))
	}
	return ready, nil
}

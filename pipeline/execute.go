package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/recheck"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// Meta is what the caller adds to the report: who ran it and on what.
type Meta struct {
	Tool, Version   string
	Revision        string // VCS revision of the source, when known
	Dir             string // the module's directory within its repository
	GoSum           string // Digest of go.sum (of nothing when there is none); "" when unknown
	Tree            string // the runtime's digest of the whole source, "" when unknown
	Options         policies.Options
	AllowDivergence bool
}

// Recheck is what runs after the first run (package recheck): re-runs that
// tell flaky tests from divergent ones, and experiments that prove causes.
type Recheck struct {
	Reruns      int                 // more runs of each failing or divergent test, per cell
	RerunsMax   int                 // re-runs per cell at most, for tests still undecided (at least Reruns)
	FailOnFlaky bool                // flaky tests fail the verdict
	Explain     recheck.ExplainMode // experiments for divergent tests
}

func (r Request) recheck() (Recheck, error) {
	rc := Recheck{Reruns: r.Reruns, RerunsMax: max(r.Reruns, r.ReRunsMax), FailOnFlaky: r.FailOnFlaky, Explain: recheck.ExplainOff}
	if r.Reruns < 0 {
		return rc, fmt.Errorf("--reruns %d: must be 0 or more", r.Reruns)
	}
	if r.ReRunsMax < 0 {
		return rc, fmt.Errorf("--reruns-max %d: must be 0 or more", r.ReRunsMax)
	}
	if r.Explain != "" {
		m, err := recheck.ParseExplain(r.Explain)
		if err != nil {
			return rc, fmt.Errorf("--explain: %w", err)
		}
		rc.Explain = m
	}
	return rc, nil
}

// Execute runs every planned cell; then, as p.Recheck asks, re-runs
// failing and divergent tests and tries experiments on the divergent ones,
// all through runner.Run under the same parallel bound. What to run next is
// decided from a report of the runs so far; the report returned is built
// once from all of them. It always returns a report, even when cells fail
// or ctx is cancelled midway: each cell's result says what happened to it.
func Execute(ctx context.Context, p Plan, rt runner.Runtime, opt runner.Options, m Meta) report.Report {
	if rs, ok := rt.(runner.RunScoped); ok {
		defer rs.BeginRun(ctx)()
	}
	meta := reportMeta(p, m)
	all := report.Runs{Cells: runner.Run(ctx, rt, p.Specs, opt)}
	rep := report.Build(meta, all)
	rc := p.Recheck
	nonce := strconv.FormatInt(rep.CreatedAt.UnixNano(), 36)
	rerun := func(runs []recheck.Run) {
		all.Reruns = append(all.Reruns, recheck.ReadReruns(runs, runRechecks(ctx, rt, runs, opt))...)
		rep = report.Build(meta, all)
	}
	if runs := recheck.PlanReruns(rep, p.Specs, rc.Reruns, nonce); len(runs) > 0 && ctx.Err() == nil {
		rerun(runs)
	}
	// Counts that cannot yet tell flaky from divergent get more re-runs,
	// two at a time, up to --reruns-max.
	for done := rc.Reruns; done < rc.RerunsMax && ctx.Err() == nil; done = min(done+2, rc.RerunsMax) {
		rows := report.Undecided(rep)
		runs := recheck.PlanMore(rep, p.Specs, rows, done+1, min(done+2, rc.RerunsMax), nonce)
		if len(rows) == 0 || len(runs) == 0 {
			break
		}
		rerun(runs)
	}
	// A test that failed with its siblings and passes alone re-runs with
	// them (its package, the first run's flags and seed): order-dependent
	// when it fails again.
	if runs := recheck.PlanWithSiblings(rep, p.Specs, min(rc.Reruns, 2), nonce); len(runs) > 0 && ctx.Err() == nil {
		rerun(runs)
	}
	// An order-dependent test's bisection: one run per round and test, each
	// with half the siblings still suspected, until one is named.
	for range report.MaxProbes {
		runs := recheck.PlanBisect(rep, p.Specs, nonce)
		if len(runs) == 0 || ctx.Err() != nil {
			break
		}
		rerun(runs)
	}
	if !recheck.ShouldExplain(rc.Explain, len(rep.Divergences)) || ctx.Err() != nil {
		return rep
	}
	subjects := recheck.Subjects(rep)
	runs := recheck.PlanExperiments(rep, p.Specs, p.PinSet, subjects, recheck.Experiments)
	if len(runs) == 0 {
		return rep
	}
	all.Explanations = recheck.Explain(subjects, runs, runRounds(ctx, rt, runs, opt), recheck.Experiments)
	return report.Build(meta, all)
}

// runRounds makes the experiments' runs attempt by attempt: an experiment
// whose run did not pass is done (it cannot confirm). Runs not made keep a
// zero job.Result.
func runRounds(ctx context.Context, rt runner.Runtime, runs []recheck.Run, opt runner.Options) []job.Result {
	results := make([]job.Result, len(runs))
	made, passed := make([]bool, len(runs)), make([]bool, len(runs))
	for ctx.Err() == nil {
		next := recheck.NextRuns(runs, made, passed)
		if len(next) == 0 {
			break
		}
		batch := make([]recheck.Run, len(next))
		for j, i := range next {
			batch[j] = runs[i]
		}
		for j, res := range runRechecks(ctx, rt, batch, opt) {
			i := next[j]
			results[i], made[i], passed[i] = res, true, recheck.Passed(runs[i], res)
		}
	}
	return results
}

// runRechecks runs reduced Specs under the same bound as the cells: each
// through runner.Run alone, so its progress events can carry its own name
// ("go1.26.8/musl/amd64 rerun 1") though it shares its cell's.
func runRechecks(ctx context.Context, rt runner.Runtime, runs []recheck.Run, opt runner.Options) []job.Result {
	results := make([]job.Result, len(runs))
	n := opt.Parallel
	if n <= 0 || n > len(runs) {
		n = len(runs)
	}
	var mu sync.Mutex // one observer, as runner.Run promises for its own events
	p := pool.New().WithMaxGoroutines(max(n, 1))
	for i, r := range runs {
		o := runner.Options{Parallel: 1}
		if emit := opt.OnEvent; emit != nil {
			label := r.Label()
			o.OnEvent = func(e runner.Event) { mu.Lock(); defer mu.Unlock(); e.Cell = label; emit(e) }
		}
		p.Go(func() { results[i] = runner.Run(ctx, rt, []job.Spec{r.Spec}, o)[0] })
	}
	p.Wait()
	return results
}

func reportMeta(p Plan, m Meta) report.Meta {
	o := m.Options
	ro := report.Options{
		Packages: o.Packages, Race: string(o.Race), Count: o.Count, Shuffle: o.Shuffle, Run: o.Run,
		Skip: o.Skip, Tags: o.Tags, Failfast: o.Failfast, Short: o.Short,
		AllowDivergence: m.AllowDivergence,
	}
	ro.Reruns, ro.RerunsMax, ro.FailOnFlaky = p.Recheck.Reruns, p.Recheck.RerunsMax, p.Recheck.FailOnFlaky
	if p.Recheck.Explain != recheck.ExplainOff {
		ro.Explain = string(p.Recheck.Explain)
	}
	if len(ro.Packages) == 0 {
		ro.Packages = []string{"./..."}
	}
	if o.TestTimeout > 0 {
		ro.Timeout = o.TestTimeout.String()
	}
	// Not the lock's path: reports from other checkouts must compare equal
	// (the pins' content is Source.Pins).
	ro.Extra = map[string]string{}
	if o.Cgo != "" {
		ro.Extra["cgo"] = string(o.Cgo)
	}
	if o.Ptrace != "" {
		ro.Extra["ptrace"] = string(o.Ptrace)
	}
	return report.Meta{
		Tool:      report.Tool{Name: m.Tool, Version: m.Version},
		CreatedAt: time.Now().UTC(),
		Source:    report.Source{Module: p.Module, GoLine: p.GoLine, Revision: m.Revision, Dir: m.Dir, GoSum: m.GoSum, Tree: m.Tree, Pins: p.PinsDigest},
		Options:   ro,
	}
}

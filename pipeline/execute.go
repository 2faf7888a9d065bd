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

// maxRounds bounds the rounds of re-runs and experiments: every round
// adds runs the decision procedure counts, so it ends long before.
const maxRounds = 100

// Execute runs every planned cell; then, round by round, the re-runs the
// report's decision procedure asks for (report.Needs: alone, with
// siblings, bisection, culprit tests) and, once every row is decided, the
// experiments of --explain with their control arm: all through runner.Run
// under the same parallel bound. What to run next is decided from a report
// of the runs so far (recheck.Next); the report returned is built once
// from all of them. It always returns a report, even when cells fail or
// ctx is cancelled midway: each cell's result says what happened to it.
func Execute(ctx context.Context, p Plan, rt runner.Runtime, opt runner.Options, m Meta) report.Report {
	meta := reportMeta(p, m)
	all := report.Runs{Cells: runner.Run(ctx, rt, p.Specs, opt)}
	rep := report.Build(meta, all)
	nonce := strconv.FormatInt(rep.CreatedAt.UnixNano(), 36)
	for range maxRounds {
		if ctx.Err() != nil {
			break
		}
		runs := recheck.Next(rep, p.Specs, p.PinSet, report.NextLook, nonce)
		if len(runs) == 0 {
			break
		}
		all.Reruns = append(all.Reruns, recheck.Read(runs, runRechecks(ctx, rt, runs, opt))...)
		rep = report.Build(meta, all)
	}
	return rep
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

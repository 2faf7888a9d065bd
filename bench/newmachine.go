package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/parity-ci/parity/cachedir"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// newMachine is the "new machine" scenario: every run starts on a machine
// without any of the suite's caches (its cache volumes, the standard
// library seeds of its images and flags, its setup images removed first;
// nothing else of the daemon's is touched: another run may share it), as on
// an ephemeral CI runner, with the cache directory a CI cache step would
// carry between them.
type newMachine struct {
	cold, coldSave            float64 // the first run, and the save after it
	restored, unchanged       float64 // restore, then the run on an unchanged source
	restored2, edited         float64 // restore, then the run with one line changed
	other, second             float64 // another project's first run, then this one's
	otherName                 string
	dirBytes                  int64
	entries                   int
	edit                      string // what the edit was
	sameUnchanged, sameEdited bool
}

func (m newMachine) unchangedTotal() float64 { return m.restored + m.unchanged }
func (m newMachine) editedTotal() float64    { return m.restored2 + m.edited }

// newMachine measures the scenario for suite t, with other as the other
// project of the last measure.
func (t target) newMachine(ctx context.Context, other target) (*newMachine, error) {
	m := &newMachine{otherName: other.suite.name}
	dir, err := os.MkdirTemp("", "parity-bench-cachedir-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	// 1. Cold: nothing of the suite's on the machine; the caches saved.
	s1 := t.b.scope()
	if err := t.forget(ctx, s1); err != nil {
		return nil, err
	}
	start := time.Now()
	cold, p1, err := t.trusted(ctx, s1)
	if err != nil {
		return nil, err
	}
	m.cold = time.Since(start).Seconds()
	start = time.Now()
	sum, err := t.eng.SaveCaches(ctx, dir, "bench", "", p1.Specs)
	if err != nil {
		return nil, fmt.Errorf("save: %w", err)
	}
	m.coldSave, m.dirBytes, m.entries = time.Since(start).Seconds(), sum.Bytes, sum.Entries
	logf("new machine, cold: %.1fs, saved %s", m.cold, sum)

	// 2. Another new machine, the directory restored, the source unchanged.
	unchanged, restore, run, err := t.restoredRun(ctx, dir)
	if err != nil {
		return nil, err
	}
	m.restored, m.unchanged, m.sameUnchanged = restore, run, sameOutcomes(cold, unchanged)
	logf("new machine, restored, unchanged: %.1fs + %.1fs", restore, run)

	// 3. The same with one line changed in one package.
	undo, what, err := t.editOneLine()
	if err != nil {
		return nil, err
	}
	m.edit = what
	edited, restore, run, err := t.restoredRun(ctx, dir)
	undo()
	if err != nil {
		return nil, err
	}
	m.restored2, m.edited, m.sameEdited = restore, run, sameOutcomes(cold, edited)
	logf("new machine, restored, one line changed: %.1fs + %.1fs", restore, run)

	// 4. A machine that ran another project first: its run fills the
	// standard library seeds; then this project's first run.
	s4 := t.b.scope()
	if err := t.forget(ctx, s4); err != nil {
		return nil, err
	}
	so := t.b.scope()
	if err := other.forget(ctx, so); err != nil {
		return nil, err
	}
	start = time.Now()
	if _, _, err := other.trusted(ctx, so); err != nil {
		return nil, fmt.Errorf("%s first: %w", other.suite.name, err)
	}
	m.other = time.Since(start).Seconds()
	start = time.Now()
	if _, _, err := t.trusted(ctx, s4); err != nil {
		return nil, err
	}
	m.second = time.Since(start).Seconds()
	logf("second project: %s %.1fs, then %s %.1fs", other.suite.name, m.other, t.suite.name, m.second)
	return m, nil
}

// restoredRun forgets the suite's caches, restores dir into a fresh scope
// and runs: a new machine with the CI's cache restored.
func (t target) restoredRun(ctx context.Context, dir string) (report.Report, float64, float64, error) {
	s := t.b.scope()
	if err := t.forget(ctx, s); err != nil {
		return report.Report{}, 0, 0, err
	}
	p, _, err := t.plan(s)
	if err != nil {
		return report.Report{}, 0, 0, err
	}
	start := time.Now()
	sum, err := t.eng.RestoreCaches(ctx, dir, p.Specs)
	if err != nil {
		return report.Report{}, 0, 0, fmt.Errorf("restore: %w", err)
	}
	restore := time.Since(start).Seconds()
	if sum.Entries == 0 {
		return report.Report{}, 0, 0, fmt.Errorf("restore: nothing restored (%s)", sum)
	}
	start = time.Now()
	rep, _, err := t.trusted(ctx, s)
	return rep, restore, time.Since(start).Seconds(), err
}

// forget removes what a run of the suite in scope would find on the
// machine: a new machine, for this suite.
func (t target) forget(ctx context.Context, scope string) error {
	p, _, err := t.plan(scope)
	if err != nil {
		return err
	}
	t.forgetSpecs(ctx, p)
	return nil
}

// forgetSpecs removes the caches a plan's cells use. One another run is
// using stays (the daemon is shared): the figures then say so.
func (t target) forgetSpecs(ctx context.Context, p pipeline.Plan) {
	if _, err := t.eng.ForgetCaches(ctx, p.Specs); err != nil {
		logf("a new machine: %v", err)
		t.b.mu.Lock()
		t.b.shared = append(t.b.shared, err.Error())
		t.b.mu.Unlock()
	}
}

func (t target) plan(scope string) (pipeline.Plan, pipeline.Inputs, error) {
	req := pipeline.Request{Go: t.b.opt.gos, Arch: []string{string(nativeArch)}, Packages: t.suite.packages, CacheScope: scope,
		CacheTrust: "trusted", DepsEnv: t.b.depsEnv, CABundle: t.b.caBundle}
	in, err := req.Inputs(t.goMod, t.b.lock, "bench lock")
	if err != nil {
		return pipeline.Plan{}, in, err
	}
	p, err := pipeline.MakePlan(in, t.eng.Traits())
	return p, in, err
}

// trusted runs every native cell in scope, as the default branch does:
// every cell must pass.
func (t target) trusted(ctx context.Context, scope string) (report.Report, pipeline.Plan, error) {
	p, in, err := t.plan(scope)
	if err != nil {
		return report.Report{}, p, err
	}
	rep := pipeline.Execute(ctx, p, t.eng, runner.Options{}, pipeline.Meta{Tool: "parity-bench", Options: in.Policy})
	for _, c := range rep.Cells {
		if c.Status != "passed" {
			return rep, p, fmt.Errorf("%s: %s %s", c.Name, c.Status, c.Message)
		}
	}
	return rep, p, nil
}

// editOneLine adds one line to one Go file of the suite's root package
// (the first, by name, that is not a test): what a small commit does.
func (t target) editOneLine() (undo func(), what string, err error) {
	names, err := filepath.Glob(filepath.Join(t.dir, "*.go"))
	if err != nil {
		return nil, "", err
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		old, err := os.ReadFile(n)
		if err != nil {
			return nil, "", err
		}
		line := "\nvar _ = \"parity bench: one line changed\"\n"
		if err := os.WriteFile(n, append(append([]byte(nil), old...), line...), 0o644); err != nil {
			return nil, "", err
		}
		rel, _ := filepath.Rel(t.dir, n)
		return func() { os.WriteFile(n, old, 0o644) }, "one line added to " + rel, nil
	}
	return nil, "", fmt.Errorf("no Go file in the root package of %s", t.dir)
}

func renderNewMachine(sb *strings.Builder, r result) {
	m := r.machine
	if m == nil {
		return
	}
	fmt.Fprintf(sb, "New machine (every run on a machine without the suite's caches: its volumes, the standard library seeds of its images and flags, and its setup images removed first; the cache directory restored where said; %d caches in it, %s):\n\n", m.entries, cachedir.Size(m.dirBytes))
	fmt.Fprintf(sb, "| run | wall | against cold | target |\n|---|---|---|---|\n")
	fmt.Fprintf(sb, "| cold (then the save: %.1fs) | %.1fs | 1 | |\n", m.coldSave, m.cold)
	fmt.Fprintf(sb, "| cache directory restored, source unchanged (restore + run), report identical: %v | %.1fs + %.1fs = %.1fs | **%.2f** | <= 0.20 |\n",
		m.sameUnchanged, m.restored, m.unchanged, m.unchangedTotal(), m.unchangedTotal()/m.cold)
	fmt.Fprintf(sb, "| cache directory restored, %s (restore + run) | %.1fs + %.1fs = %.1fs | **%.2f** | <= 0.35 |\n",
		m.edit, m.restored2, m.edited, m.editedTotal(), m.editedTotal()/m.cold)
	fmt.Fprintf(sb, "| first run on a machine that ran `%s` first (%.1fs): shared standard library seed, its own module cache | %.1fs | **%.2f** | <= 0.60 |\n\n",
		m.otherName, m.other, m.second, m.second/m.cold)
}

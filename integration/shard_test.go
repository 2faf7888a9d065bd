package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// TestShardsMergeIntoTheWholeRun: the fixture's deterministic packages
// on the two amd64 cells, run whole, then as `parity plan --shards 3`
// splits them by the whole run's package times (one run per shard of each
// cell, as a CI matrix would), merged: the merged report has the whole
// run's rows, outcome for outcome, its divergences and its verdict.
func TestShardsMergeIntoTheWholeRun(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	base := pipeline.Request{
		Go: []string{"1.26.8"}, Libc: []string{"glibc", "musl"}, Arch: []string{"amd64"},
		// Not hang (it waits for go test's timeout), nor the tagged ones.
		Packages: []string{"./plain", "./libc", "./image", "./race", "./sandbox", "./network", "./crash", "./arch"},
		Count:    1, // every run runs its tests: no result replayed from go test's cache
		Explain:  "off", CacheScope: scope(t, eng),
	}
	start := time.Now()
	whole, plan := h.run(t, context.Background(), eng, base, runner.Options{})
	wholeTime := time.Since(start)

	src := os.DirFS(h.fixDir)
	m, err := pipeline.PlanShards(plan, pipeline.ShardOptions{N: 3, Patterns: base.Packages, Timings: &whole,
		Packages: func(bt pipeline.BuildTarget) ([]pipeline.SourcePackage, error) {
			return pipeline.FindPackages(src, base.Packages, bt)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range pipeline.ShardBalance(m, true) {
		t.Log(line)
	}
	if len(m.Include) != 6 {
		t.Fatalf("%d shards, want 3 of each cell: %+v", len(m.Include), m.Include)
	}

	// One run per shard, as the matrix's jobs would, two at a time.
	start = time.Now()
	shards := make([]report.Report, len(m.Include))
	var mu sync.Mutex
	p := pool.New().WithMaxGoroutines(2)
	for i, job := range m.Include {
		p.Go(func() {
			req := base
			req.Libc, req.Arch = []string{job.Libc}, []string{job.Arch}
			req.Shard, req.ShardPackages = job.Shard, []string{job.Packages}
			goMod, err := os.ReadFile(filepath.Join(h.fixDir, "go.mod"))
			if err != nil {
				t.Error(err)
				return
			}
			in, err := req.Inputs(goMod, h.lock, "test lock")
			if err != nil {
				t.Error(err)
				return
			}
			in.Policy = depsPolicy(in.Policy)
			sp, err := pipeline.MakePlan(in, eng.Traits())
			if err != nil {
				t.Error(err)
				return
			}
			rep := pipeline.Execute(context.Background(), sp, eng, runner.Options{}, pipeline.Meta{Tool: "parity", Version: "test", Options: in.Policy})
			rep.Shard = in.Shard // as both front doors record it
			mu.Lock()
			shards[i] = rep
			mu.Unlock()
		})
	}
	p.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("whole run %s, the six shard runs %s", wholeTime.Round(time.Second), time.Since(start).Round(time.Second))
	for _, s := range shards {
		if len(s.Cells) != 1 || s.Shard == nil || !slices.Equal(s.Options.Packages, base.Packages) {
			t.Fatalf("shard report: %d cells, shard %v, packages %v", len(s.Cells), s.Shard, s.Options.Packages)
		}
	}
	// The inputs of one merge, in any order.
	slices.Reverse(shards)
	merged, err := report.Merge(shards...)
	if err != nil {
		t.Fatal(err)
	}

	outcomes := func(r report.Report) []string {
		var out []string
		for _, row := range r.Tests {
			var res []string
			for _, x := range row.Results {
				res = append(res, x.Cell+"="+string(x.Outcome))
			}
			out = append(out, fmt.Sprintf("%s.%s failed=%v divergent=%v %s", row.Package, row.Test, row.Failed, row.Divergent, strings.Join(res, " ")))
		}
		return out
	}
	got, want := outcomes(merged), outcomes(whole)
	if !slices.Equal(got, want) {
		t.Errorf("merged shards' rows differ from the whole run's:\n got %q\nwant %q", got, want)
	}
	t.Logf("%d rows equal", len(got))
	divs := func(r report.Report) []string {
		var out []string
		for _, d := range r.Divergences {
			out = append(out, d.Package+"."+d.Test+" "+strings.Join(d.Axes, ","))
		}
		return out
	}
	if g, w := divs(merged), divs(whole); !slices.Equal(g, w) || len(w) == 0 {
		t.Errorf("divergences %q, want the whole run's %q", g, w)
	}
	if g, w := merged.Conclusion, whole.Conclusion; g.OK != w.OK || g.FailedTests != w.FailedTests || g.DivergentTests != w.DivergentTests || !slices.Equal(g.Reasons, w.Reasons) {
		t.Errorf("verdict %+v, want the whole run's %+v", g, w)
	}
	for i, c := range merged.Cells {
		if w := whole.Cells[i]; c.Name != w.Name || c.Status != w.Status || c.Counts != w.Counts {
			t.Errorf("cell %s: %s %+v, the whole run's %s %s %+v", c.Name, c.Status, c.Counts, w.Name, w.Status, w.Counts)
		}
	}
}

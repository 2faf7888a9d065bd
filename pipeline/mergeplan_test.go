package pipeline

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/recheck"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// Issue 22, measured: a merge of one-cell jobs decided from 3 runs on one
// side and 1 on the other, and its experiments never ran. Now the merge
// plans the runs its decisions need, a recheck stage makes them (cell by
// cell, through JSON, as CI jobs would), and the merges that follow fold
// them in until nothing is left: the words and verdict of one run over
// both cells.
func TestMergeThenRecheckEqualsOneRun(t *testing.T) {
	glibc := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	musl := matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	spec := func(c matrix.Cell, image string) job.Spec {
		cmd := job.TestCommand{Flags: []string{"-json"}, Packages: []string{"./..."}}
		return job.Spec{Cell: c, Image: image, Platform: c.Platform(), Env: []string{"CGO_ENABLED=1"},
			Steps: []job.Step{{Name: job.StepTest, Args: cmd.Args(), Test: &cmd}}}
	}
	// TestB fails on musl every run, and passes with 8 MiB C stacks.
	rt := &scripted{answer: func(c matrix.Cell, args string) string {
		switch {
		case c.Libc == matrix.Glibc, strings.Contains(args, "stack-size=8388608"):
			return events("ex/p", map[string]string{"TestA": "pass", "TestB": "pass"})
		}
		return events("ex/p", map[string]string{"TestA": "pass", "TestB": "fail"})
	}}
	p := Plan{Module: "ex", Specs: []job.Spec{spec(glibc, "golang:glibc@sha256:1"), spec(musl, "golang:musl@sha256:2")},
		Recheck: Recheck{Reruns: 2, RerunsMax: 10, Explain: recheck.ExplainOn}}
	meta := Meta{Tool: "parity", Version: "t"}
	whole := Execute(context.Background(), p, rt, runner.Options{}, meta)

	var reps []report.Report
	for _, s := range p.Specs {
		one := p
		one.Specs = []job.Spec{s}
		reps = append(reps, Execute(context.Background(), one, rt, runner.Options{}, meta))
	}
	merged, err := report.Merge(reps...)
	if err != nil {
		t.Fatal(err)
	}
	if !merged.Conclusion.Provisional || merged.Conclusion.OK {
		t.Fatalf("the first merge's verdict %+v: want provisional", merged.Conclusion)
	}
	merges := 1
	for {
		plan := PlanRecheck(merged)
		var buf bytes.Buffer
		if err := plan.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		if plan, err = ReadRecheckPlan(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		if len(plan.Cells) == 0 {
			break
		}
		var done []report.Rechecked
		for _, c := range plan.Cells {
			_, recs, err := RecheckMerged(context.Background(), plan.Report, p, rt, runner.Options{}, []string{c})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Rechecked(p, meta, []string{c}, recs).WriteJSON(&out); err != nil {
				t.Fatal(err)
			}
			back, err := report.ReadRechecked(out.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			done = append(done, back)
		}
		if merged, err = report.Fold(plan.Report, done, 2); err != nil {
			t.Fatal(err)
		}
		if merges++; merges > 4 {
			t.Fatalf("still work after %d merges: %+v", merges, plan.Shares)
		}
	}
	// Two stages: the divergence's looks, then its experiments.
	if merges != 3 {
		t.Errorf("%d merges, want 3 (cells, the looks of the tests, the experiments)", merges)
	}
	if merged.Conclusion.Provisional || merged.Conclusion.OK != whole.Conclusion.OK || merged.Conclusion.DivergentTests != 1 {
		t.Errorf("final verdict %+v, one run's %+v", merged.Conclusion, whole.Conclusion)
	}
	row := func(r report.Report) report.TestRow {
		i := slices.IndexFunc(r.Tests, func(x report.TestRow) bool { return x.Test == "TestB" })
		return r.Tests[i]
	}
	got, want := row(merged), row(whole)
	if !got.Divergent || got.Explanation == nil || !got.Explanation.Confirmed || got.Explanation.Experiment != "c-stack-8m" {
		t.Fatalf("merged TestB %+v explanation %+v", got, got.Explanation)
	}
	if got.Explanation.Text != want.Explanation.Text || got.Decisions[0].PValue != want.Decisions[0].PValue {
		t.Errorf("merged %q / %g, one run %q / %g", got.Explanation.Text, got.Decisions[0].PValue, want.Explanation.Text, want.Decisions[0].PValue)
	}
}

package pipeline

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/recheck"
	"github.com/parity-ci/parity/runner"
)

// scripted is a runtime whose test steps print what answer says.
type scripted struct {
	answer func(c matrix.Cell, args string) string
	mu     sync.Mutex
	steps  []string
}

func (s *scripted) Name() string { return "scripted" }
func (s *scripted) Start(ctx context.Context, spec job.Spec) (runner.Cell, error) {
	return &scriptedCell{s: s, spec: spec}, nil
}

type scriptedCell struct {
	s    *scripted
	spec job.Spec
}

func (c *scriptedCell) Exec(ctx context.Context, st job.Step) job.StepResult {
	args := strings.Join(st.Args, " ")
	c.s.mu.Lock()
	c.s.steps = append(c.s.steps, c.spec.Cell.String()+": "+args)
	c.s.mu.Unlock()
	out := c.s.answer(c.spec.Cell, args)
	exit := 0
	if strings.Contains(out, `"fail"`) {
		exit = 1
	}
	return job.StepResult{Name: st.Name, Stdout: out, ExitCode: exit}
}
func (c *scriptedCell) PlatformDigest() string { return "" }
func (c *scriptedCell) Close() error           { return nil }

func events(pkg string, outcomes map[string]string) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(outcomes)) {
		b.WriteString(`{"Action":"run","Package":"` + pkg + `","Test":"` + name + "\"}\n")
		b.WriteString(`{"Action":"` + outcomes[name] + `","Package":"` + pkg + `","Test":"` + name + "\"}\n")
	}
	pkgAction := "pass"
	if slices.Contains(slices.Collect(maps.Values(outcomes)), "fail") {
		pkgAction = "fail"
	}
	b.WriteString(`{"Action":"` + pkgAction + `","Package":"` + pkg + "\"}\n")
	return b.String()
}

// TestExecuteRerunsThenExplains: on musl TestA fails once then passes (flaky),
// TestB fails every time and passes only with big C stacks.
func TestExecuteRerunsThenExplains(t *testing.T) {
	glibc := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	musl := matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	spec := func(c matrix.Cell, image string) job.Spec {
		return job.Spec{Cell: c, Image: image, Platform: c.Platform(), Env: []string{"CGO_ENABLED=1"},
			Steps: []job.Step{{Name: job.StepTest, Args: []string{"go", "test", "-json", "./..."}}}}
	}
	rt := &scripted{answer: func(c matrix.Cell, args string) string {
		switch {
		case c.Libc == matrix.Glibc:
			return events("ex/p", map[string]string{"TestA": "pass", "TestB": "pass"})
		case strings.Contains(args, "./..."): // the first run
			return events("ex/p", map[string]string{"TestA": "fail", "TestB": "fail"})
		case strings.Contains(args, "stack-size=8388608"):
			return events("ex/p", map[string]string{"TestB": "pass"})
		case strings.Contains(args, "TestA"):
			return events("ex/p", map[string]string{"TestA": "pass", "TestB": "fail"})
		}
		return events("ex/p", map[string]string{"TestB": "fail"})
	}}
	p := Plan{Module: "ex", Specs: []job.Spec{spec(glibc, "golang:glibc@sha256:1"), spec(musl, "golang:musl@sha256:2")},
		Recheck: Recheck{Reruns: 2, RerunsMax: 10, Explain: recheck.ExplainOn}}
	var mu sync.Mutex
	var labels []string
	opt := runner.Options{Parallel: 2, OnEvent: func(e runner.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == runner.EventStarted {
			labels = append(labels, e.Cell)
		}
	}}
	rep := Execute(context.Background(), p, rt, opt, Meta{Tool: "parity"})

	// TestA: failed once with its siblings, then passed alone every time:
	// two looks at the alone runs (no failure alone is no evidence at the
	// first), and alone runs beside its with-siblings runs (which print
	// nothing of it here).
	if len(rep.Flaky) != 1 || rep.Flaky[0].Test != "TestA" || rep.Flaky[0].Cells[0].Cell != musl.String() || rep.Flaky[0].Cells[0].Pass != 6 || rep.Flaky[0].Cells[0].Fail != 1 {
		t.Fatalf("flaky = %+v, want TestA flaky on musl", rep.Flaky)
	}
	if len(rep.Divergences) != 1 || rep.Divergences[0].Test != "TestB" {
		t.Fatalf("divergences = %+v, want TestB alone", rep.Divergences)
	}
	var b *recheckRow
	for _, row := range rep.Tests {
		if row.Test == "TestB" && row.Explanation != nil {
			b = &recheckRow{row.Explanation.Experiment, row.Explanation.Text}
		}
	}
	if b == nil || b.experiment != "c-stack-8m" || !strings.HasPrefix(b.text, "confirmed: passes 10 of 10 runs on go1.26.8/musl/amd64 with 8 MiB C thread stacks; unchanged, alone in the same rounds, it fails 10 of 10 (") {
		t.Fatalf("TestB explanation = %+v", b)
	}
	if rep.Options.Reruns != 2 || rep.Options.Explain != "on" {
		t.Fatalf("options = %+v", rep.Options)
	}
	for _, want := range []string{"go1.26.8/glibc/amd64", "go1.26.8/musl/amd64 rerun 2", "go1.26.8/glibc/amd64 rerun 1", "go1.26.8/musl/amd64 explain c-stack-8m 1", "go1.26.8/musl/amd64 explain control 10"} {
		if !slices.Contains(labels, want) {
			t.Errorf("progress never started %q: %v", want, labels)
		}
	}
	for _, s := range rt.steps {
		if strings.Contains(s, "explain") || strings.Contains(s, "glibc") && strings.Contains(s, "stack-size") {
			t.Errorf("an experiment ran outside the failing cell: %s", s)
		}
	}
}

type recheckRow struct{ experiment, text string }

func TestRequestRecheckOptions(t *testing.T) {
	in, err := Request{Reruns: 3, FailOnFlaky: true, Explain: "auto"}.Inputs([]byte("module m\n"), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(in, docker)
	if err != nil {
		t.Fatal(err)
	}
	if p.Recheck != (Recheck{Reruns: 3, RerunsMax: 3, FailOnFlaky: true, Explain: recheck.ExplainAuto}) {
		t.Fatalf("recheck = %+v", p.Recheck)
	}
	if in, _ := (Request{}).Inputs([]byte("module m\n"), nil, ""); in.Recheck.Explain != recheck.ExplainOff || in.Recheck.Reruns != 0 {
		t.Fatalf("a zero request re-runs or explains: %+v", in.Recheck)
	}
	if in, _ := (Request{Reruns: 2, ReRunsMax: 10}).Inputs([]byte("module m\n"), nil, ""); in.Recheck.RerunsMax != 10 {
		t.Fatalf("--reruns-max lost: %+v", in.Recheck)
	}
	for _, r := range []Request{{Reruns: -1}, {ReRunsMax: -1}, {Explain: "sometimes"}} {
		if _, err := r.Inputs([]byte("module m\n"), nil, ""); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}

package integration

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/render"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

func hostileOutcome(rep report.Report, pkg, test, cell string) testjson.Outcome {
	if r, ok := hostileResult(rep, pkg, test, cell); ok {
		return r.Outcome
	}
	return testjson.NotRun
}

func cellTampered(c report.Cell) bool { return len(c.Tampered) > 0 }

// TestForgedOutputChangesNothing: a test writing raw test2json events and a
// go-command error into the go command's own stdout/stderr must not make up
// a test, fail or pass another package's tests, or relabel its cell; the
// tampering is reported, and JUnit still shows the real failure.
func TestForgedOutputChangesNothing(t *testing.T) {
	h := env(t)
	dir := hostileDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./forger", "./victim"}, Timeout: "60s"}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)

	for _, name := range []string{glibcAMD64, muslAMD64} {
		var c report.Cell
		for _, rc := range rep.Cells {
			if rc.Name == name {
				c = rc
			}
		}
		if c.Status != job.StatusFailed {
			t.Errorf("%s: status %q (%s), want failed: text a test prints must not classify its cell", name, c.Status, c.Message)
		}
		if got := hostileOutcome(rep, "victim", "TestGood", name); got != testjson.Pass {
			t.Errorf("%s: victim.TestGood %s, want pass (a forged fail from another package must not apply)", name, got)
		}
		if got := hostileOutcome(rep, "victim", "TestReal", name); got != testjson.Fail {
			t.Errorf("%s: victim.TestReal %s, want fail (a forged pass must not hide it)", name, got)
		}
		if got := hostileOutcome(rep, "forger", "TestForge", name); got != testjson.Pass {
			t.Errorf("%s: forger.TestForge %s, want pass (it reached the go command's stdout)", name, got)
		}
		if !cellTampered(c) {
			t.Errorf("%s: the forged events went unnoticed", name)
		}
	}
	for _, r := range rep.Tests {
		if r.Test == "TestMadeUp" {
			t.Errorf("a made-up test is in the report: %+v", r)
		}
		if r.Flaky {
			t.Errorf("%s.%s reported flaky: a forged second run must not turn a failure into a flake", r.Package, r.Test)
		}
	}
	if v := rep.Verdict(true); v.OK {
		t.Errorf("verdict is green: %+v", v)
	}
	if len(rep.Divergences) != 0 {
		t.Errorf("divergences %+v, want none", rep.Divergences)
	}

	var junit bytes.Buffer
	if err := render.JUnit(&junit, rep); err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	for _, s := range suites.Suites {
		found := false
		for _, c := range s.Cases {
			if strings.Contains(c.Name, "TestReal") && c.Failure != nil {
				found = true
			}
		}
		if s.Failures == 0 || !found {
			t.Errorf("JUnit suite hides the real failure: failures=%d, TestReal failing=%v", s.Failures, found)
		}
	}
}

// TestCellKilledFromOutsideIsNotADivergence kills one cell's test container
// (as `docker kill` or a reboot would) while its test runs: the cell is
// reported killed, and its unfinished test is not a platform divergence.
func TestCellKilledFromOutsideIsNotADivergence(t *testing.T) {
	h := env(t)
	dir := hostileDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./sleeper"}, Timeout: "120s"}
	req.CacheScope = scope(t, eng)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	killed := make(chan string, 1)
	go func() { killed <- killWhenRunning(ctx, eng, "sleeper.test") }()
	rep, _ := h.runIn(t, ctx, eng, dir, req, runner.Options{})
	keep(t, rep)
	victim := <-killed
	if victim == "" {
		t.Fatal("never saw sleeper.test running in a cell to kill")
	}
	for _, c := range rep.Cells {
		want := job.StatusPassed
		if c.Cell.Key() == victim {
			want = job.StatusKilled
		}
		if c.Status != want {
			t.Errorf("%s: status %q (%s), want %q", c.Name, c.Status, c.Message, want)
		}
	}
	if len(rep.Divergences) != 0 {
		t.Errorf("a killed cell produced divergences: %+v", rep.Divergences)
	}
	v := rep.Verdict(false)
	if v.OK || v.DivergentTests != 0 || v.FailedTests != 0 {
		t.Errorf("verdict %+v: want red for a cell that did not finish, with no failing or divergent test", v)
	}
}

// killWhenRunning waits until a process named proc runs in a test-step
// container of this engine's run, kills that container from outside and
// returns its cell key.
func killWhenRunning(ctx context.Context, eng *dockerengine.Engine, proc string) string {
	f := filters.NewArgs(filters.Arg("label", dockerengine.LabelRun+"="+eng.RunID()), filters.Arg("label", dockerengine.LabelStep+"="+string(job.StepTest)))
	for ctx.Err() == nil {
		list, _ := eng.Client().ContainerList(ctx, container.ListOptions{Filters: f})
		for _, c := range list {
			top, err := eng.Client().ContainerTop(ctx, c.ID, nil)
			if err != nil {
				continue
			}
			for _, p := range top.Processes {
				if strings.Contains(strings.Join(p, " "), proc) {
					time.Sleep(2 * time.Second) // let the test get going
					if err := eng.Client().ContainerKill(ctx, c.ID, "KILL"); err == nil {
						return c.Labels[dockerengine.LabelCell]
					}
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return ""
}

// Package calibration measures how often each word of Parity's reports is
// wrong, and how often it is found when true, by seeded simulation over
// the real decision code: the real plan (pipeline.MakePlan, the default
// matrix), the real pipeline (pipeline.Execute: first run, every round of
// re-runs the report asks for, experiments), the real report and recheck
// packages, and a simulated runtime in place of the containers. The
// runtime runs each test step's go test command as data (job.TestCommand:
// which packages, which tests by -run, which experiment) and prints the
// test2json stream a real go test would, each test failing with the
// probability the scenario gives it there.
//
// Outcomes are drawn from a hash of the seed, the trial, the cell, the
// test and the run's identity (its kind and index, from PARITY_RERUN):
// never from the order goroutines ran in, so a seed gives the same table
// every time, and two ways of running the same trial (together, or apart
// then merged) see the same runs.
package calibration

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// Package is the import path of the simulated tests.
const Package = "example.com/sim/p"

// Run is where and how one run of a test happens.
type Run struct {
	Cell matrix.Cell
	// Kind is the re-run's kind; "" for the first run.
	Kind report.RunKind
	// Before are the tests of its package that ran before it in this run.
	Before []string
	// Trial is the experiment's id in an experiment's run.
	Trial string
}

// Test is one simulated test: Fails is the chance that a run fails.
type Test struct {
	Name  string
	Fails func(Run) float64
}

// World is what a trial's runs are drawn from.
type World struct {
	Tests []Test // in source order: the order go test runs them in
	Seed  uint64
	Trial int
}

// simRuntime is a runner.Runtime that runs a test step's go test from the
// world.
type simRuntime struct{ w World }

func (rt simRuntime) Name() string { return "simulated" }

func (rt simRuntime) Start(ctx context.Context, spec job.Spec) (runner.Cell, error) {
	return cell{w: rt.w, spec: spec}, nil
}

type cell struct {
	w    World
	spec job.Spec
}

func (c cell) PlatformDigest() string { return "" }
func (c cell) Close() error           { return nil }

func (c cell) Exec(ctx context.Context, st job.Step) job.StepResult {
	if st.Name != job.StepTest || st.Test == nil {
		return job.StepResult{Name: st.Name}
	}
	kind, key := runKey(st.Env)
	trial := ""
	if kind == report.RunExperiment {
		trial = key[strings.LastIndexByte(key, '/')+1:]
	}
	cmd := *st.Test
	var runs []job.PackageRun
	if len(cmd.PerPackage) > 0 {
		runs = cmd.PerPackage
	} else {
		for _, p := range cmd.Packages {
			runs = append(runs, job.PackageRun{Package: p, Run: cmd.Run})
		}
	}
	var b strings.Builder
	exit := 0
	for _, pr := range runs {
		if pr.Package != Package && pr.Package != "./..." {
			continue
		}
		var re *regexp.Regexp
		if pr.Run != "" {
			re = regexp.MustCompile(pr.Run)
		}
		var before []string
		pkgFailed := false
		for _, t := range c.w.Tests {
			if re != nil && !re.MatchString(t.Name) {
				continue
			}
			r := Run{Cell: c.spec.Cell, Kind: kind, Before: slices.Clone(before), Trial: trial}
			failed := c.w.draw(c.spec.Cell, t.Name, key) < t.Fails(r)
			fmt.Fprintf(&b, `{"Action":"run","Package":%q,"Test":%q}`+"\n", Package, t.Name)
			action := "pass"
			if failed {
				action, pkgFailed = "fail", true
				fmt.Fprintf(&b, `{"Action":"output","Package":%q,"Test":%q,"Output":"    sim_test.go:1: failed\n"}`+"\n", Package, t.Name)
			}
			fmt.Fprintf(&b, `{"Action":%q,"Package":%q,"Test":%q,"Elapsed":0.01}`+"\n", action, Package, t.Name)
			before = append(before, t.Name)
		}
		action := "pass"
		if pkgFailed {
			action, exit = "fail", 1
		}
		fmt.Fprintf(&b, `{"Action":%q,"Package":%q,"Elapsed":0.1}`+"\n", action, Package)
	}
	return job.StepResult{Name: st.Name, Stdout: b.String(), ExitCode: exit}
}

// runKey is the run's identity without the call's nonce: "first" for the
// first run, else kind/index[/experiment] from PARITY_RERUN.
func runKey(env []string) (report.RunKind, string) {
	for _, kv := range env {
		v, ok := strings.CutPrefix(kv, "PARITY_RERUN=")
		if !ok {
			continue
		}
		_, rest, _ := strings.Cut(v, "/") // the nonce
		kind, _, _ := strings.Cut(rest, "/")
		return report.RunKind(kind), rest
	}
	return "", "first"
}

// draw is a uniform number in [0, 1) for one run of a test in a cell.
func (w World) draw(c matrix.Cell, test, key string) float64 {
	h := fnv.New64a()
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], w.Seed)
	binary.LittleEndian.PutUint64(buf[8:], uint64(w.Trial))
	h.Write(buf[:])
	fmt.Fprintf(h, "%s\x00%s\x00%s", c, test, key)
	// fnv's low bits mix poorly: finish with splitmix64.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

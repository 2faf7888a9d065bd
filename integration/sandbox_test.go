package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// sandboxModule is a module without dependencies (its deps step needs no
// network) whose packages each push against one wall of the cell.
var sandboxModule = map[string]string{
	"go.mod": "module example.com/sandbox\n\ngo 1.22\n",
	// Allocates 4 GiB, touching every page.
	"mem/mem_test.go": `package mem

import "testing"

func TestAllocates(t *testing.T) {
	var keep [][]byte
	for i := 0; i < 64; i++ {
		b := make([]byte, 64<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	t.Log(len(keep))
}
`,
	// Starts processes until a fork is refused.
	"pids/pids_test.go": `package pids

import (
	"os/exec"
	"testing"
)

func TestForks(t *testing.T) {
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}()
	for i := 0; i < 2000; i++ {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			t.Fatalf("fork %d refused: %v", i, err)
		}
		cmds = append(cmds, c)
	}
}
`,
	// Attaches to a child of its own, as a debugger would.
	"ptrace/ptrace_test.go": `package ptrace

import (
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

func TestAttach(t *testing.T) {
	c := exec.Command("sleep", "30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := syscall.PtraceAttach(c.Process.Pid); err != nil {
		t.Fatalf("ptrace attach: %v", err)
	}
	var ws syscall.WaitStatus
	syscall.Wait4(c.Process.Pid, &ws, 0, nil)
	if err := syscall.PtraceDetach(c.Process.Pid); err != nil {
		t.Fatalf("ptrace detach: %v", err)
	}
}
`,
	// What the test step may and may not touch.
	"mounts/mounts_test.go": `package mounts

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestModuleCacheReadOnly(t *testing.T) {
	err := os.WriteFile(filepath.Join(os.Getenv("GOMODCACHE"), "planted"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write into the module cache: %v, want a read-only file system", err)
	}
}

func TestBuildCacheWritable(t *testing.T) {
	f, err := os.CreateTemp(os.Getenv("GOCACHE"), "probe-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Remove(f.Name())
}

func TestNoCABundle(t *testing.T) {
	if _, err := os.Stat("/etc/parity/ca-certificates.crt"); !os.IsNotExist(err) {
		t.Fatalf("the CA bundle is visible to tests: %v", err)
	}
}
`,
	// Prints 24 MiB.
	"noisy/noisy_test.go": `package noisy

import (
	"fmt"
	"strings"
	"testing"
)

func TestNoisy(t *testing.T) {
	line := strings.Repeat("x", 1023)
	for i := 0; i < 24<<10; i++ {
		fmt.Println(line)
	}
}
`,
	"hang/hang_test.go": `package hang

import (
	"testing"
	"time"
)

func TestHangs(t *testing.T) { time.Sleep(10 * time.Minute) }
`,
}

// sandboxDir writes sandboxModule where a container can read it.
func sandboxDir(t *testing.T) string { return moduleDir(t, sandboxModule) }

// runSandbox runs packages of the sandbox module in the glibc/amd64 cell,
// race off (quick, and small enough for tight memory limits).
func (h *harness) runSandbox(t *testing.T, ctx context.Context, eng *dockerengine.Engine, dir string, req pipeline.Request, opt runner.Options) (report.Report, job.Result) {
	t.Helper()
	req.Go, req.Libc, req.Arch, req.Race = []string{"1.26.8"}, []string{"glibc"}, []string{"amd64"}, "off"
	if req.CacheScope == "" {
		req.CacheScope = scope(t, eng)
	}
	in, err := req.Inputs([]byte(sandboxModule["go.mod"]), h.lock, "test lock")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pipeline.MakePlan(in, eng.Traits())
	if err != nil {
		t.Fatal(err)
	}
	var res job.Result
	inner := opt.OnEvent
	opt.OnEvent = func(e runner.Event) {
		if e.Kind == runner.EventDone {
			res = *e.Result
		}
		if inner != nil {
			inner(e)
		}
	}
	results := runner.Run(ctx, eng, plan.Specs, opt)
	return report.Build(report.Meta{}, report.Runs{Cells: results}), res
}

func TestOutOfMemoryIsReportedAsSuch(t *testing.T) {
	h := env(t)
	dir := sandboxDir(t)
	eng := h.engine(t, dir)
	_, res := h.runSandbox(t, context.Background(), eng, dir, pipeline.Request{Packages: []string{"./mem/"}, CellMemory: "512MiB"}, runner.Options{})
	t.Logf("%s: %s", res.Status, res.Message)
	test, _ := res.Step(job.StepTest)
	if res.Status != job.StatusOutOfMemory || !test.OOMKilled || !strings.Contains(res.Message, "512 MiB") {
		t.Fatalf("status %s (%s); test step oom %v exit %d", res.Status, res.Message, test.OOMKilled, test.ExitCode)
	}
}

func TestPidsLimitIsReportedAsSuch(t *testing.T) {
	h := env(t)
	dir := sandboxDir(t)
	eng := h.engine(t, dir)
	_, res := h.runSandbox(t, context.Background(), eng, dir, pipeline.Request{Packages: []string{"./pids/"}, CellPids: 200}, runner.Options{})
	t.Logf("%s: %s", res.Status, res.Message)
	test, _ := res.Step(job.StepTest)
	if res.Status != job.StatusResourceLimit || !test.PidsLimitHit || !strings.Contains(res.Message, "(200)") {
		t.Fatalf("status %s (%s); test step pids hit %v exit %d stderr %q", res.Status, res.Message, test.PidsLimitHit, test.ExitCode, test.Stderr)
	}
}

// TestSandboxWalls: under --ptrace=off a test cannot attach to its own
// child; the module cache is read-only to it and the build cache is not;
// the CA bundle is not visible; a test printing 24 MiB costs the result
// only capped output; the live test count reaches the runner's events.
// Under children and attach, the same attach works.
func TestSandboxWalls(t *testing.T) {
	h := env(t)
	dir := sandboxDir(t)
	eng := h.engine(t, dir)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, []byte("# no certificates\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var counted atomic.Int64
	onEvent := func(e runner.Event) {
		if e.Kind == runner.EventTests {
			counted.Store(int64(e.Tests))
		}
	}
	req := pipeline.Request{Packages: []string{"./ptrace/", "./mounts/", "./noisy/"}, Ptrace: "off", CABundle: ca}
	rep, res := h.runSandbox(t, context.Background(), eng, dir, req, runner.Options{OnEvent: onEvent})
	if res.Status != job.StatusFailed {
		t.Fatalf("status %s (%s)", res.Status, res.Message)
	}
	get := func(rep report.Report, pkg, test string) report.Result {
		t.Helper()
		for _, r := range rep.Tests {
			if r.Package == "example.com/sandbox/"+pkg && r.Test == test {
				if len(r.Results) == 1 {
					return r.Results[0]
				}
			}
		}
		t.Fatalf("no result for %s.%s", pkg, test)
		return report.Result{}
	}
	if r := get(rep, "ptrace", "TestAttach"); r.Outcome != testjson.Fail || !strings.Contains(r.Output, "operation not permitted") {
		t.Errorf("ptrace=off: attach %s: %s", r.Outcome, r.Output)
	}
	for _, name := range []string{"TestModuleCacheReadOnly", "TestBuildCacheWritable", "TestNoCABundle"} {
		if r := get(rep, "mounts", name); r.Outcome != testjson.Pass {
			t.Errorf("%s: %s: %s", name, r.Outcome, r.Output)
		}
	}
	if r := get(rep, "noisy", "TestNoisy"); r.Outcome != testjson.Pass || !r.OutputTruncated {
		t.Errorf("noisy: %s truncated %v", r.Outcome, r.OutputTruncated)
	}
	test, _ := res.Step(job.StepTest)
	if len(test.Stdout) > 2*dockerengine.MaxStepOutput || !strings.Contains(test.Stdout, testjson.TruncationMarker) || res.Run == nil {
		t.Errorf("test step stdout holds %d bytes (cap %d), parsed run %v", len(test.Stdout), dockerengine.MaxStepOutput, res.Run != nil)
	}
	if counted.Load() == 0 {
		t.Error("no live test count reached the runner's events")
	}

	for _, level := range []string{"children", "attach"} {
		rep, res := h.runSandbox(t, context.Background(), eng, dir, pipeline.Request{Packages: []string{"./ptrace/"}, Ptrace: level}, runner.Options{})
		if r := get(rep, "ptrace", "TestAttach"); r.Outcome != testjson.Pass {
			t.Errorf("ptrace=%s: attach %s (%s %s): %s", level, r.Outcome, res.Status, res.Message, r.Output)
		}
	}
}

// onTestStep calls f once, 3 s into the first test step.
func onTestStep(f func()) runner.Options {
	var once sync.Once
	return runner.Options{OnEvent: func(e runner.Event) {
		if e.Kind == runner.EventStepStart && e.Step == job.StepTest {
			once.Do(func() { time.AfterFunc(3*time.Second, f) })
		}
	}}
}

// TestKilledFromOutside: `docker kill` of the test step's container is not
// a failing test: the cell is reported as killed.
func TestKilledFromOutside(t *testing.T) {
	h := env(t)
	dir := sandboxDir(t)
	eng := h.engine(t, dir)
	kill := func() {
		ctx := context.Background()
		list, err := eng.Client().ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
			filters.Arg("label", dockerengine.LabelRun+"="+eng.RunID()), filters.Arg("label", dockerengine.LabelStep+"=test"))})
		if err != nil || len(list) != 1 {
			t.Errorf("the test step's container: %v %v", list, err)
			return
		}
		if err := eng.Client().ContainerKill(ctx, list[0].ID, "KILL"); err != nil {
			t.Error(err)
		}
	}
	_, res := h.runSandbox(t, context.Background(), eng, dir, pipeline.Request{Packages: []string{"./hang/"}}, onTestStep(kill))
	t.Logf("%s: %s", res.Status, res.Message)
	test, _ := res.Step(job.StepTest)
	if res.Status != job.StatusKilled || !test.KilledOutside || test.OOMKilled {
		t.Fatalf("status %s (%s); step %+v", res.Status, res.Message, test)
	}
}

// TestDaemonLostMidStep: the daemon's connection breaks while the test step
// runs (here: a socket proxy in front of it is cut). The cell says so, in
// one line naming cell and step, instead of "exited 0".
func TestDaemonLostMidStep(t *testing.T) {
	h := env(t)
	dir := sandboxDir(t)
	real := h.engine(t, dir)
	target := strings.TrimPrefix(real.Client().DaemonHost(), "unix://")
	if target == real.Client().DaemonHost() {
		t.Skip("the daemon is not on a unix socket")
	}
	fwd := forwardFrom(t, "unix", filepath.Join(t.TempDir(), "docker.sock"), target)
	t.Setenv("DOCKER_HOST", fwd.url())
	eng, err := dockerengine.New(context.Background(), dockerengine.Options{SourceDir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	// What the lost run leaves, removed through the real connection.
	t.Cleanup(func() {
		ctx := context.Background()
		list, _ := real.Client().ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", dockerengine.LabelRun+"="+eng.RunID()))})
		for _, c := range list {
			real.Client().ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
	})
	_, res := h.runSandbox(t, context.Background(), eng, dir, pipeline.Request{Packages: []string{"./hang/"}, CacheScope: scope(t, real)}, onTestStep(fwd.cut))
	t.Logf("%s: %s", res.Status, res.Message)
	test, _ := res.Step(job.StepTest)
	if res.Status != job.StatusRuntimeLost || !test.RuntimeLost || !strings.Contains(res.Message, "go1.26.8/glibc/amd64") || !strings.Contains(res.Message, "test") || strings.Contains(res.Message, "\n") {
		t.Fatalf("status %s (%q); step %+v", res.Status, res.Message, test)
	}
}

// TestSweepsDeadRunsOfThisHost: a container whose labels name a process of
// this host and PID namespace that no longer runs is removed by the next
// run's SweepStale; one of a live process, of another host, of another PID
// namespace or of an older label it cannot check stays. Connecting alone
// (what parity plan does) removes nothing.
func TestSweepsDeadRunsOfThisHost(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	ctx := context.Background()
	host, _ := os.Hostname()
	img := h.image("glibc").Repo + "@" + h.image("glibc").Platforms["linux/amd64"]
	self, ok := dockerengine.ProcessLabel(os.Getpid())
	if !ok {
		t.Fatal("no process label for this process")
	}
	f := strings.Split(self, ":")
	create := func(host, pid string) string {
		c, err := eng.Client().ContainerCreate(ctx, &container.Config{Image: img, Cmd: []string{"true"}, Labels: map[string]string{
			dockerengine.LabelRun: "sweep-test-" + eng.RunID(), dockerengine.LabelHost: host, dockerengine.LabelPID: pid,
		}}, nil, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Client().ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}) })
		return c.ID
	}
	dead := create(host, f[0]+":1:"+f[2])
	live := create(host, self)
	elsewhere := create(host+"-elsewhere", "1:1:"+f[2])
	otherNS := create(host, f[0]+":1:1"+f[2])
	older := create(host, f[0]+":1")
	exists := func(id string) bool { _, err := eng.Client().ContainerInspect(ctx, id); return err == nil }
	next, err := dockerengine.New(ctx, dockerengine.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if !exists(dead) {
		t.Fatal("connecting swept a container: parity plan must touch nothing")
	}
	if _, err := next.SweepStale(ctx); err != nil {
		t.Fatal(err)
	}
	if exists(dead) || !exists(live) || !exists(elsewhere) || !exists(otherNS) || !exists(older) {
		t.Fatalf("after the sweep: dead run's container exists %v, live run's %v, other host's %v, other PID namespace's %v, older label's %v",
			exists(dead), exists(live), exists(elsewhere), exists(otherNS), exists(older))
	}
}

// TestCleanRemovesScopedCaches: the cache volumes of a scope, and only
// those, are removed.
func TestCleanRemovesScopedCaches(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	ctx := context.Background()
	s := scope(t, eng)
	for _, name := range []string{s + "-go1.26.8-glibc-amd64-gomod", "other-" + s + "-go1.26.8-glibc-amd64-gomod", s + "x-go1.26.8-glibc-amd64-gomod"} {
		if _, err := eng.Client().VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: map[string]string{dockerengine.LabelCache: "x"}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Client().VolumeRemove(context.Background(), name, true) })
	}
	// The caches part of `parity clean --all --cache-scope`: the containers
	// part would touch other tests' containers on this shared daemon.
	rm, err := eng.RemoveCaches(ctx, s+"-")
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Volumes) != 1 || rm.Volumes[0] != s+"-go1.26.8-glibc-amd64-gomod" {
		t.Fatalf("removed volumes %v", rm.Volumes)
	}
	if _, err := eng.Client().VolumeInspect(ctx, s+"x-go1.26.8-glibc-amd64-gomod"); err != nil {
		t.Fatalf("a volume of a longer scope was removed: %v", err)
	}
	if _, err := eng.Client().VolumeInspect(ctx, "other-"+s+"-go1.26.8-glibc-amd64-gomod"); err != nil {
		t.Fatalf("a volume outside the scope was removed: %v", err)
	}
}

package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/probe"
)

// fakeRuntime answers each step from a script keyed by cell and step.
type fakeRuntime struct {
	mu       sync.Mutex
	started  []string
	answer   func(c matrix.Cell, st job.Step) job.StepResult
	startErr map[string]error
	closed   int
}

func (f *fakeRuntime) Name() string { return "fake" }
func (f *fakeRuntime) Start(ctx context.Context, s job.Spec) (Cell, error) {
	f.mu.Lock()
	f.started = append(f.started, s.Cell.String())
	f.mu.Unlock()
	if err := f.startErr[s.Cell.String()]; err != nil {
		return nil, err
	}
	return &fakeCell{f: f, spec: s}, nil
}

type fakeCell struct {
	f    *fakeRuntime
	spec job.Spec
}

func (c *fakeCell) Exec(ctx context.Context, st job.Step) job.StepResult {
	r := c.f.answer(c.spec.Cell, st)
	r.Name = st.Name
	return r
}
func (c *fakeCell) PlatformDigest() string { return "sha256:" + strings.Repeat("c", 64) }
func (c *fakeCell) Close() error {
	c.f.mu.Lock()
	c.f.closed++
	c.f.mu.Unlock()
	return nil
}

func specs(t *testing.T, cells ...matrix.Cell) []job.Spec {
	var out []job.Spec
	for _, c := range cells {
		s, err := policies.Plan(c, matrix.Builtin(), policies.Options{}, policies.Traits{Name: "fake", ReadOnlyRootfs: true, NativeArch: matrix.AMD64})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// probeOut is what a correct cell's probe prints.
func probeOut(c matrix.Cell) string {
	uname := map[matrix.Arch]string{matrix.AMD64: "x86_64", matrix.ARM64: "aarch64"}[c.Arch]
	return "uname_m=" + uname + "\ngoarch=" + string(c.Arch) + "\ngo_version=go" + c.Go +
		"\ncgo_enabled=1\ncc_libc=" + string(c.Libc) + "\nrootfs=readonly\nsource=readonly\ntmp_exec=yes\n"
}

var (
	a = matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}
	b = matrix.Cell{Go: "1.27.1", Libc: matrix.Musl, Arch: matrix.AMD64}
	c = matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.ARM64}
)

func TestRunKeepsEveryCellsResult(t *testing.T) {
	f := &fakeRuntime{
		startErr: map[string]error{c.String(): errors.New("pull golang@sha256:...: manifest unknown")},
		answer: func(cell matrix.Cell, st job.Step) job.StepResult {
			switch st.Name {
			case job.StepProbe:
				return job.StepResult{Stdout: probeOut(cell)}
			case job.StepTest:
				if cell == b {
					panic("a bug in one cell")
				}
				return job.StepResult{Stdout: `{"Action":"pass"}`, CPUSeconds: 1.5}
			}
			return job.StepResult{CPUSeconds: 0.25}
		},
	}
	var events []Event
	var mu sync.Mutex
	res := Run(context.Background(), f, specs(t, a, b, c), Options{Parallel: 2, OnEvent: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	if res[0].Cell != a || res[0].Status != job.StatusPassed || res[0].TestJSON != `{"Action":"pass"}` || res[0].Probe["cc_libc"] != "glibc" {
		t.Fatalf("cell a: %+v", res[0])
	}
	if res[0].CPUSeconds != 2.25 { // setup, deps and build 0.25 each, test 1.5, probe 0
		t.Fatalf("cpu seconds = %v", res[0].CPUSeconds)
	}
	if res[1].Status != job.StatusError || !strings.Contains(res[1].Message, "a bug in one cell") {
		t.Fatalf("cell b must be an error, not lost: %+v", res[1])
	}
	if res[2].Status != job.StatusError || !strings.Contains(res[2].Message, "manifest unknown") {
		t.Fatalf("cell c: %+v", res[2])
	}
	if f.closed != 2 {
		t.Fatalf("closed %d cells, want 2", f.closed)
	}
	done := 0
	for _, e := range events {
		if e.Kind == EventDone {
			done++
		}
	}
	if done != 3 {
		t.Fatalf("%d done events", done)
	}
}

func TestCellTimeoutKeepsPartialOutput(t *testing.T) {
	f := &fakeRuntime{answer: func(cell matrix.Cell, st job.Step) job.StepResult {
		if st.Name == job.StepProbe {
			return job.StepResult{Stdout: probeOut(cell)}
		}
		if st.Name == job.StepTest {
			time.Sleep(300 * time.Millisecond)
			return job.StepResult{Stdout: `{"Action":"run","Test":"TestSlow"}`, ExitCode: -1}
		}
		return job.StepResult{}
	}}
	s := specs(t, a)
	s[0].Timeout = 100 * time.Millisecond
	res := Run(context.Background(), f, s, Options{})
	if res[0].Status != job.StatusTimeout || !strings.Contains(res[0].Message, "timed out after 100ms during test") {
		t.Fatalf("%+v", res[0])
	}
	if !strings.Contains(res[0].TestJSON, "TestSlow") {
		t.Fatal("partial test output lost")
	}
}

func TestNotRunnableCellDoesNotStart(t *testing.T) {
	f := &fakeRuntime{answer: func(matrix.Cell, job.Step) job.StepResult { t.Fatal("must not run"); return job.StepResult{} }}
	s := specs(t, a)
	s[0].NotRunnable = "go: go.mod requires go >= 1.28 (running go 1.27.1; GOTOOLCHAIN=local)"
	res := Run(context.Background(), f, s, Options{})
	if res[0].Status != job.StatusNotRunnable || res[0].Message != s[0].NotRunnable || len(f.started) != 0 {
		t.Fatalf("%+v", res[0])
	}
}

func TestCancelledRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeRuntime{answer: func(cell matrix.Cell, st job.Step) job.StepResult {
		cancel()
		return job.StepResult{Stdout: probeOut(cell)}
	}}
	res := Run(ctx, f, specs(t, a), Options{})
	if res[0].Status != job.StatusCancelled {
		t.Fatalf("%+v", res[0])
	}
}

func TestClassify(t *testing.T) {
	s := specs(t, b)[0]
	goodProbe := probe.Parse(probeOut(b))
	for _, tc := range []struct {
		name   string
		sr     job.StepResult
		probed map[string]string
		status job.Status
		msg    string
		stop   bool
	}{
		{"setup ok", job.StepResult{Name: job.StepSetup}, nil, "", "", false},
		{"setup fails", job.StepResult{Name: job.StepSetup, ExitCode: 1, Stderr: "ERROR: unable to select packages:\n  gcc (no such package)\n"}, nil, job.StatusError, "gcc (no such package)", true},
		{"probe matches", job.StepResult{Name: job.StepProbe}, goodProbe, "", "", false},
		{"probe disproves", job.StepResult{Name: job.StepProbe}, probe.Parse(strings.Replace(probeOut(b), "cc_libc=musl", "cc_libc=glibc", 1)), job.StatusEnvMismatch, "cc_libc: want musl", true},
		{"verify fails", job.StepResult{Name: job.StepDeps, ExitCode: 1, Stderr: "golang.org/x/sync v0.25.0: dir has been modified (/cache/gomod/golang.org/x/sync@v0.25.0)\n"}, nil, job.StatusDepsFailed, "dir has been modified", true},
		// A package that does not build: the test step reports it.
		{"build fails", job.StepResult{Name: job.StepBuild, ExitCode: 1, Stderr: "p/p.go:3:18: cannot use \"x\"\n"}, nil, "", "", false},
		{"build out of memory", job.StepResult{Name: job.StepBuild, ExitCode: 137, OOMKilled: true}, nil, job.StatusOutOfMemory, "out of memory during build", true},
		{"tests pass", job.StepResult{Name: job.StepTest, Stdout: "{}"}, nil, job.StatusPassed, "", true},
		{"tests fail", job.StepResult{Name: job.StepTest, ExitCode: 1, Stdout: "{}"}, nil, job.StatusFailed, "go test exited 1", true},
		// A too-old toolchain is known at planning time (Spec.NotRunnable);
		// the same words printed by a test must not relabel its cell.
		{"forged toolchain line", job.StepResult{Name: job.StepTest, ExitCode: 1, Stdout: `{"Action":"fail","Package":"p"}` + "\n", Stderr: "go: go.mod requires go >= 1.99 (running go 1.27.1; GOTOOLCHAIN=local)\n"}, nil, job.StatusFailed, "go test exited 1", true},
		{"killed from outside", job.StepResult{Name: job.StepTest, ExitCode: 137, KilledOutside: true, Stdout: "{}\n"}, nil, job.StatusKilled, "killed from outside", true},
		{"oom", job.StepResult{Name: job.StepTest, ExitCode: 137, OOMKilled: true, KilledOutside: true}, nil, job.StatusOutOfMemory, "out of memory", true},
		{"pids", job.StepResult{Name: job.StepTest, ExitCode: 2, PidsLimitHit: true}, nil, job.StatusResourceLimit, "process limit", true},
		{"daemon lost", job.StepResult{Name: job.StepTest, RuntimeLost: true, Err: "wait: unexpected EOF"}, nil, job.StatusRuntimeLost, "daemon went away during test", true},
		// Measured (issue 14, case 7): the pids cgroup refused forks while
		// the test step exited 0: the cell hit its limit all the same.
		{"pids hit, exit 0", job.StepResult{Name: job.StepTest, PidsLimitHit: true, Stdout: "{}"}, nil, job.StatusResourceLimit, "process limit", true},
		// Measured (case 9): a lost daemon tells what is known and what to do.
		{"daemon lost, what to do", job.StepResult{Name: job.StepTest, RuntimeLost: true, Err: "wait: unexpected EOF"}, nil, job.StatusRuntimeLost, "`parity clean` removes them", true},
		{"daemon lost, no exit status", job.StepResult{Name: job.StepTest, RuntimeLost: true, Err: "wait: unexpected EOF"}, nil, job.StatusRuntimeLost, "its exit status is unknown", true},
		{"endpoint lost", job.StepResult{Name: job.StepTest, RuntimeLost: true, Err: "endpoint linux/arm64=ssh://ci@arm: wait: unexpected EOF"}, nil, job.StatusRuntimeLost, "(endpoint linux/arm64=ssh://ci@arm: wait: unexpected EOF): its exit status is unknown; its containers may be left behind: `DOCKER_HOST=ssh://ci@arm parity clean` removes them", true},
		{"tls endpoint lost", job.StepResult{Name: job.StepTest, RuntimeLost: true, Err: "endpoint linux/arm64=tcp://arm:2376?certs=/c: wait: EOF"}, nil, job.StatusRuntimeLost, "`DOCKER_CERT_PATH=/c DOCKER_TLS_VERIFY=1 DOCKER_HOST=tcp://arm:2376 parity clean` removes them", true},
		{"go test broke", job.StepResult{Name: job.StepTest, ExitCode: 1, Stderr: "go: cannot find main module\n"}, nil, job.StatusError, "cannot find main module", true},
		{"runtime failed", job.StepResult{Name: job.StepDeps, Err: "create container: no such image"}, nil, job.StatusError, "deps: create container", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, msg, stop := Classify(s, tc.sr, tc.probed, nil)
			if st != tc.status || stop != tc.stop || !strings.Contains(msg, tc.msg) {
				t.Fatalf("got (%q, %q, %v), want (%q, ~%q, %v)", st, msg, stop, tc.status, tc.msg, tc.stop)
			}
		})
	}
}

// Measured: a linux/s390x cell on a host without qemu's binfmt handler
// ended "docker: preparing cache volumes: exit 1 exec /usr/bin/chown: exec
// format error", and a 386 cell on a kernel without IA32 emulation cannot
// start a program either. The message says what the host lacks; a test's
// own output saying the same words changes nothing.
func TestForeignPlatformIsNamed(t *testing.T) {
	s390x := matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.S390X}
	i386 := matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.I386}
	f := &fakeRuntime{
		startErr: map[string]error{s390x.String(): errors.New("docker: preparing cache volumes: exit 1 exec /usr/bin/chown: exec format error")},
		answer: func(cell matrix.Cell, st job.Step) job.StepResult {
			switch {
			case cell == i386 && st.Name == job.StepSetup, cell == i386 && st.Name == job.StepProbe:
				return job.StepResult{ExitCode: 1, Err: "exec /bin/sh: exec format error"}
			case st.Name == job.StepProbe:
				return job.StepResult{Stdout: probeOut(cell)}
			case st.Name == job.StepTest:
				return job.StepResult{ExitCode: 1, Stdout: `{"Action":"fail"}`, Stderr: "exec format error\n"}
			}
			return job.StepResult{}
		},
	}
	res := Run(context.Background(), f, specs(t, s390x, i386, a), Options{Parallel: 1})
	for i, want := range []string{
		"the runtime's host cannot run linux/s390x programs: register qemu-user's binfmt handler for it there (apt-get install qemu-user-static binfmt-support, or docker run --privileged --rm tonistiigi/binfmt --install s390x); docker: preparing cache volumes",
		"the runtime's host cannot run linux/386 programs: its kernel must be built with IA32 emulation",
	} {
		if res[i].Status != job.StatusError || !strings.HasPrefix(res[i].Message, want) {
			t.Errorf("%s: %s %q, want an error starting %q", res[i].Cell, res[i].Status, res[i].Message, want)
		}
	}
	if res[2].Status != job.StatusFailed || strings.Contains(res[2].Message, "cannot run") {
		t.Errorf("a test printing the words: %s %q", res[2].Status, res[2].Message)
	}
}

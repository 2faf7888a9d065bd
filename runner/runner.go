// Package runner executes cell Specs on a Runtime, all cells in parallel with
// a bound, and turns what the steps printed into one Result per cell. The
// sequencing and the classification of outcomes live here, once, so every
// runtime yields the same Result for the same behaviour.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/probe"
	"github.com/parity-ci/parity/testjson"
)

// Runtime is a container engine that can run a cell's steps.
type Runtime interface {
	Name() string
	// Start prepares a cell: image resolved, pulled and verified, caches ready.
	Start(ctx context.Context, spec job.Spec) (Cell, error)
}

// RunScoped is a Runtime with resources that last one run of the pipeline,
// its re-runs and experiments included (Docker's views of the caches):
// BeginRun starts such a run, the function it returns ends it.
type RunScoped interface {
	BeginRun(ctx context.Context) (end func())
}

// Cell is one prepared cell on a runtime.
type Cell interface {
	// Exec runs one step to completion in a fresh container. A failing
	// command is not an error: its exit code and output are in the result;
	// StepResult.Err is set only when the runtime itself failed.
	Exec(ctx context.Context, step job.Step) job.StepResult
	// PlatformDigest is the manifest digest of the image actually run.
	PlatformDigest() string
	// Close releases what Start made, even when ctx is done.
	Close() error
}

// StreamCell is a Cell that hands a step's stdout over as it is printed,
// so the test step's event stream is parsed while it runs: Parity then
// never holds a noisy cell's whole output, and progress can count tests.
type StreamCell interface {
	ExecStream(ctx context.Context, step job.Step, stdout io.Writer) job.StepResult
}

// EventKind says what happened to a cell.
type EventKind string

const (
	EventStarted   EventKind = "started"
	EventStepStart EventKind = "step-start"
	EventStepDone  EventKind = "step"
	EventDone      EventKind = "done"
	// EventTests: the running test step has more finished tests (Tests),
	// at most once per TestsEvery per cell.
	EventTests EventKind = "tests"
)

// TestsEvery throttles EventTests: progress needs a live count, not one
// event per test.
const TestsEvery = time.Second

// Event reports a cell's progress as it happens.
type Event struct {
	Cell    string
	Kind    EventKind
	Step    job.StepName  // EventStepStart, EventStepDone
	Status  job.Status    // EventDone
	Elapsed time.Duration // since the cell started

	StepDuration time.Duration // EventStepDone
	StepFailed   bool          // EventStepDone: non-zero exit or runtime failure
	Result       *job.Result   // EventDone
	Tests        int           // EventTests: tests finished so far in the test step
}

// Options tune a run.
type Options struct {
	Parallel int         // cells at once; 0 = all
	OnEvent  func(Event) // called from the cells' goroutines; must be safe for concurrent use
}

// Run executes every spec and returns one Result per spec, in spec order.
// It never returns fewer results than specs: a cell that fails, panics, times
// out or is cancelled is recorded as such, and the others go on.
func Run(ctx context.Context, rt Runtime, specs []job.Spec, opt Options) []job.Result {
	results := make([]job.Result, len(specs))
	n := opt.Parallel
	if n <= 0 || n > len(specs) {
		n = len(specs)
	}
	emit := opt.OnEvent
	if emit == nil {
		emit = func(Event) {}
	}
	var mu sync.Mutex // serialises emit so observers need no locking of their own
	safeEmit := func(e Event) { mu.Lock(); defer mu.Unlock(); emit(e) }

	p := pool.New().WithMaxGoroutines(max(n, 1))
	for i, spec := range specs {
		p.Go(func() {
			results[i] = runCell(ctx, rt, spec, safeEmit)
		})
	}
	p.Wait()
	return results
}

func runCell(ctx context.Context, rt Runtime, spec job.Spec, emit func(Event)) (res job.Result) {
	start := time.Now()
	res = job.Result{
		Cell: spec.Cell, Runtime: rt.Name(), Image: spec.Image, Race: spec.Race,
		Decisions: spec.Decisions, Started: start.UTC(),
	}
	name := spec.Cell.String()
	defer func() {
		// A bug in one cell's handling must not take the other cells down.
		if r := recover(); r != nil {
			res.Status = job.StatusError
			res.Message = fmt.Sprintf("internal error: %v", r)
			res.Steps = append(res.Steps, job.StepResult{Err: string(debug.Stack())})
		}
		res.Duration = time.Since(start)
		for _, s := range res.Steps {
			res.CPUSeconds += s.CPUSeconds
		}
		emit(Event{Cell: name, Kind: EventDone, Status: res.Status, Elapsed: res.Duration, Result: &res})
	}()
	emit(Event{Cell: name, Kind: EventStarted})

	if spec.NotRunnable != "" {
		res.Status, res.Message = job.StatusNotRunnable, spec.NotRunnable
		return res
	}
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	cell, err := rt.Start(ctx, spec)
	if err != nil {
		res.Status, res.Message = startFailure(ctx, err)
		res.Message = foreignPlatform(spec, res.Message)
		return res
	}
	defer func() {
		if err := cell.Close(); err != nil && res.Status == job.StatusPassed {
			res.Message = "cleanup: " + err.Error()
		}
	}()
	res.PlatformDigest = cell.PlatformDigest()

	for _, step := range spec.Steps {
		emit(Event{Cell: name, Kind: EventStepStart, Step: step.Name, Elapsed: time.Since(start)})
		var sr job.StepResult
		sc, streams := cell.(StreamCell)
		if step.Name == job.StepTest && streams {
			tc := &testCounter{Stream: testjson.NewStream(), emit: func(n int) {
				emit(Event{Cell: name, Kind: EventTests, Step: step.Name, Elapsed: time.Since(start), Tests: n})
			}}
			sr = sc.ExecStream(ctx, step, tc)
			tc.Stderr(sr.Stderr)
			run := tc.Finish()
			res.Run = &run
		} else {
			sr = cell.Exec(ctx, step)
			if step.Name == job.StepTest {
				run := testjson.ParseOutput(sr.Stdout, sr.Stderr)
				res.Run = &run
			}
		}
		res.Steps = append(res.Steps, sr)
		emit(Event{Cell: name, Kind: EventStepDone, Step: step.Name, Elapsed: time.Since(start), StepDuration: sr.Duration, StepFailed: sr.Err != "" || sr.ExitCode != 0})
		if step.Name == job.StepProbe {
			res.Probe = probe.Parse(sr.Stdout)
		}
		if step.Name == job.StepTest {
			res.TestJSON = sr.Stdout
		}
		if st, msg, stop := Classify(spec, sr, res.Probe, ctx.Err()); stop {
			res.Status, res.Message = st, msg
			if step.Name != job.StepTest {
				// Before the source's code runs: only the image and the
				// kernel can have said it.
				res.Message = foreignPlatform(spec, msg)
			}
			return res
		}
	}
	res.Status = job.StatusPassed
	return res
}

// testCounter feeds the stream and reports its finished-test count when it
// grew, at most once per TestsEvery. Write is called from the one goroutine
// copying the step's stdout.
type testCounter struct {
	*testjson.Stream
	emit func(int)
	last time.Time
	sent int
}

func (t *testCounter) Write(b []byte) (int, error) {
	n, err := t.Stream.Write(b)
	if f := t.Finished(); f != t.sent && time.Since(t.last) >= TestsEvery {
		t.sent, t.last = f, time.Now()
		t.emit(f)
	}
	return n, err
}

// Classify decides what one finished step means for its cell: stop=true ends
// the cell with the given status. The test step always stops the cell.
func Classify(spec job.Spec, sr job.StepResult, probed map[string]string, ctxErr error) (job.Status, string, bool) {
	if ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return job.StatusTimeout, fmt.Sprintf("cell timed out after %s during %s", spec.Timeout, sr.Name), true
		}
		return job.StatusCancelled, fmt.Sprintf("cancelled during %s", sr.Name), true
	}
	// What the runtime saw from outside comes first: these are facts about
	// the machine, and no output of the step can produce or hide them.
	switch {
	case sr.RuntimeLost:
		return job.StatusRuntimeLost, lostMessage(spec, sr), true
	case sr.OOMKilled:
		return job.StatusOutOfMemory, fmt.Sprintf("out of memory during %s: the kernel killed a process of the cell (memory limit %s)", sr.Name, limitOf(spec.MemoryBytes)), true
	case sr.KilledOutside:
		return job.StatusKilled, fmt.Sprintf("killed from outside Parity during %s (exit %d, not by Parity, not out of memory)", sr.Name, sr.ExitCode), true
	case sr.PidsLimitHit:
		// The cgroup's own counter, whatever the step's exit status: a
		// refused fork may have been retried, or hidden by the test.
		return job.StatusResourceLimit, fmt.Sprintf("%s hit the cell's process limit (%d): the pids cgroup refused a fork", sr.Name, spec.PidsLimit), true
	}
	if sr.Err != "" {
		return job.StatusError, fmt.Sprintf("%s: %s", sr.Name, sr.Err), true
	}
	switch sr.Name {
	case job.StepSetup:
		if sr.ExitCode != 0 {
			return job.StatusError, fmt.Sprintf("setup failed (exit %d): %s", sr.ExitCode, lastLine(sr.Stderr, sr.Stdout)), true
		}
	case job.StepProbe:
		if err := probe.Verify(spec, probed); err != nil {
			return job.StatusEnvMismatch, err.Error(), true
		}
	case job.StepBuild:
		// A package that does not build is a result of the source, which
		// the test step reports per package: the cell goes on.
	case job.StepDeps:
		if sr.ExitCode != 0 {
			return job.StatusDepsFailed, fmt.Sprintf("go mod download/verify failed (exit %d): %s", sr.ExitCode, lastLine(sr.Stderr, sr.Stdout)), true
		}
	case job.StepTest:
		switch {
		case sr.ExitCode == 0:
			return job.StatusPassed, "", true
		case strings.TrimSpace(sr.Stdout) == "":
			// go test printed no JSON at all: it never got to run a test.
			return job.StatusError, fmt.Sprintf("go test failed before running tests (exit %d): %s", sr.ExitCode, lastLine(sr.Stderr)), true
		}
		return job.StatusFailed, fmt.Sprintf("go test exited %d", sr.ExitCode), true
	}
	return "", "", false
}

// foreignPlatform says what "exec format error" means where it ends a
// cell: the kernel of the runtime's host cannot run the platform's
// programs at all (measured: a linux/s390x cell without qemu's binfmt
// handler, "exec /usr/bin/chown: exec format error"; linux/386 on a kernel
// built without IA32 emulation), and what makes it run them.
func foreignPlatform(spec job.Spec, msg string) string {
	if !strings.Contains(msg, "exec format error") {
		return msg
	}
	fix := "register qemu-user's binfmt handler for it there (apt-get install qemu-user-static binfmt-support, or docker run --privileged --rm tonistiigi/binfmt --install " + string(spec.Cell.Arch) + ")"
	if spec.Cell.Arch == matrix.I386 {
		fix = "its kernel must be built with IA32 emulation (some are not, and Go's 386 programs do not run under qemu-i386)"
	}
	return fmt.Sprintf("the runtime's host cannot run %s programs: %s; %s", spec.Platform, fix, msg)
}

// ErrRuntimeLost marks an error of Runtime.Start that says the machine the
// cell was to run on is gone or cannot be reached (a lost --endpoint): the
// cell is the machine's outcome, runtime-lost, like one lost mid-step.
var ErrRuntimeLost = errors.New("runtime lost")

func startFailure(ctx context.Context, err error) (job.Status, string) {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return job.StatusTimeout, "timed out while preparing the cell: " + err.Error()
	case ctx.Err() != nil:
		return job.StatusCancelled, "cancelled while preparing the cell"
	case errors.Is(err, ErrRuntimeLost):
		return job.StatusRuntimeLost, firstLine(err.Error())
	}
	return job.StatusError, err.Error()
}

// lastLine returns the last non-empty line of the first output that has one:
// where go commands put the line that says what went wrong.
func lastLine(outputs ...string) string {
	for _, o := range outputs {
		lines := strings.Split(strings.TrimSpace(o), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if l := strings.TrimSpace(lines[i]); l != "" {
				return l
			}
		}
	}
	return "(no output)"
}

// lostMessage says what is known when the runtime went away mid-step: the
// step's outcome is not (its exit status never arrived), and on Docker the
// containers it was running may still exist.
func lostMessage(spec job.Spec, sr job.StepResult) string {
	who := orRuntime(sr.Err)
	msg := fmt.Sprintf("the %s went away during %s of %s (%s): its exit status is unknown", who, sr.Name, spec.Cell, firstLine(sr.Err))
	if who == "daemon" {
		clean := "`parity clean`"
		if env := endpointEnv(sr.Err); env != "" {
			// The daemon of an --endpoint is not the default one.
			clean = "`" + env + " parity clean`"
		}
		msg += "; its containers may be left behind: " + clean + " removes them"
	}
	return msg
}

// endpointEnv is the environment that points the docker client at the
// endpoint a runtime's error names ("endpoint linux/arm64=ssh://arm: ..."):
// DOCKER_HOST, and the endpoint's TLS certificates; "" for none.
func endpointEnv(err string) string {
	rest, ok := strings.CutPrefix(err, "endpoint ")
	if !ok {
		return ""
	}
	ep, _, _ := strings.Cut(rest, ": ")
	_, raw, ok := strings.Cut(ep, "=")
	u, perr := url.Parse(raw)
	if !ok || perr != nil || strings.ContainsAny(raw, " \n") {
		return ""
	}
	env := ""
	if certs := u.Query().Get("certs"); certs != "" {
		env = "DOCKER_CERT_PATH=" + certs + " "
		if u.Query().Get("tlsverify") != "0" {
			env += "DOCKER_TLS_VERIFY=1 "
		}
	}
	u.RawQuery = ""
	return env + "DOCKER_HOST=" + u.String()
}

func orRuntime(err string) string {
	if strings.Contains(strings.ToLower(err), "dagger") || strings.Contains(strings.ToLower(err), "engine") {
		return "engine"
	}
	return "daemon"
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func limitOf(n int64) string {
	if n <= 0 {
		return "none set"
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

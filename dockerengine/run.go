package dockerengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/testjson"
)

// MaxStepOutput caps what a step's StepResult keeps of its stdout and of
// its stderr (head and tail): the test step's stdout is parsed as it streams,
// so the whole of it is never held.
const MaxStepOutput = 1 << 20

// drainTimeout bounds the wait for the rest of a container's output after
// it ended: the attach stream closes when the container does, unless the
// daemon is stuck.
const drainTimeout = 30 * time.Second

// run executes one container to its end and removes it, whatever happens.
// stdout, when not nil, also receives the step's stdout as it is printed.
func (e *Engine) run(ctx context.Context, cfg *container.Config, hc *container.HostConfig, platform string, stdout io.Writer) job.StepResult {
	r, id := e.runKeep(ctx, cfg, hc, platform, stdout)
	if id != "" {
		e.remove(id)
	}
	return r
}

// runKeep is run without the removal, for a container to be committed.
// Output is read by attaching before the start (the daemon keeps no log),
// into capped buffers. When ctx ends first the container is killed and what
// it printed so far is still returned: a timed-out test run keeps its
// partial output. The facts a test cannot forge come from the daemon: an
// OOM kill from the container's state, a kill from outside from an exit by
// signal without the wrapper's marker, a lost daemon from a broken wait.
func (e *Engine) runKeep(ctx context.Context, cfg *container.Config, hc *container.HostConfig, platform string, stdout io.Writer) (job.StepResult, string) {
	start := time.Now()
	var r job.StepResult
	fail := func(err error, format string, args ...any) job.StepResult {
		r.Err = fmt.Sprintf(format, args...)
		r.RuntimeLost = client.IsErrConnectionFailed(err)
		r.Duration = time.Since(start)
		return r
	}
	nonce, err := newNonce()
	if err != nil {
		return fail(err, "step nonce: %v", err), ""
	}
	// The wrapper reads the nonce from stdin (see stepMarker).
	cfg.OpenStdin, cfg.StdinOnce, cfg.AttachStdin = true, true, true
	osName, arch, _ := strings.Cut(platform, "/")
	created, err := e.cli.ContainerCreate(ctx, cfg, hc, nil, &ocispec.Platform{OS: osName, Architecture: arch}, "")
	if err != nil {
		return fail(err, "create container: %v", err), ""
	}
	id := created.ID
	// The attach outlives ctx: after a cancel, what was printed until the
	// kill is still read to the end.
	att, err := e.cli.ContainerAttach(context.WithoutCancel(ctx), id, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return fail(err, "attach container: %v", err), id
	}
	defer att.Close()
	outBuf, errBuf := testjson.NewCapWriter(MaxStepOutput), testjson.NewCapWriter(MaxStepOutput)
	var outW io.Writer = outBuf
	if stdout != nil {
		outW = io.MultiWriter(outBuf, stdout)
	}
	copied := make(chan error, 1)
	waitC, errC := e.cli.ContainerWait(ctx, id, container.WaitConditionNextExit)
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fail(err, "start container: %v", err), id
	}
	if _, err := io.WriteString(att.Conn, nonce+"\n"); err != nil {
		kctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = e.cli.ContainerKill(kctx, id, "KILL")
		cancel()
		return fail(err, "write the step's nonce: %v", err), id
	}
	_ = att.CloseWrite()
	go func() {
		_, err := stdcopy.StdCopy(outW, errBuf, att.Reader)
		copied <- err
	}()

	killed := false // by Parity, for ctx
	select {
	case w := <-waitC:
		r.ExitCode = int(w.StatusCode)
		if w.Error != nil && w.Error.Message != "" {
			r.Err = w.Error.Message
		}
	case err := <-errC:
		if ctx.Err() == nil {
			// The daemon answered the wait with a broken connection: it
			// went away (or restarted) while the step ran.
			r.Err = fmt.Sprintf("wait: %v", err)
			r.RuntimeLost = true
		}
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		kctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = e.cli.ContainerKill(kctx, id, "KILL")
		cancel()
		r.ExitCode = -1
		killed = true
	}
	select {
	case err := <-copied:
		if err != nil && !errors.Is(err, io.EOF) && r.Err == "" {
			r.Err = fmt.Sprintf("read output: %v", err)
		}
	case <-time.After(drainTimeout):
		att.Close()
		if r.Err == "" {
			r.Err = "read output: the daemon did not close the stream of an ended container"
		}
	}
	var stats stepStats
	r.Stdout, _ = outBuf.String()
	stderr, _ := errBuf.String()
	r.Stderr, stats = splitMarker(stderr, nonce)
	r.CPUSeconds = stats.cpuSeconds
	r.PidsLimitHit = stats.pidsMax > 0
	if !r.RuntimeLost {
		ictx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		in, err := e.cli.ContainerInspect(ictx, id)
		cancel()
		switch {
		case err != nil && client.IsErrConnectionFailed(err):
			r.RuntimeLost = true
			r.Err = fmt.Sprintf("inspect: %v", err)
		case err != nil:
			if r.Err == "" {
				r.Err = fmt.Sprintf("inspect: %v", err)
			}
		case in.State != nil:
			r.OOMKilled = in.State.OOMKilled
			// PID 1 (the wrapper) died by a signal before printing its
			// marker, and neither Parity nor the OOM killer sent it: only
			// a kill from outside the cell's namespace can do that (init
			// ignores signals from inside it).
			r.KilledOutside = !killed && !r.OOMKilled && !stats.found && in.State.ExitCode > 128
		}
	}
	r.Duration = time.Since(start)
	return r, id
}

func (e *Engine) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
		e.opt.Logf("remove container %s: %v", id[:12], err)
	}
}

// newNonce returns 16 random hex digits for one step's marker.
func newNonce() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

package dockerengine

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/parity-ci/parity/job"
)

// run executes one container to its end and removes it, whatever happens.
func (e *Engine) run(ctx context.Context, cfg *container.Config, hc *container.HostConfig, platform string) job.StepResult {
	r, id := e.runKeep(ctx, cfg, hc, platform)
	if id != "" {
		e.remove(id)
	}
	return r
}

// runKeep is run without the removal, for a container to be committed.
// When ctx ends first the container is killed and what it printed so far is
// still returned: a timed-out test run keeps its partial output.
func (e *Engine) runKeep(ctx context.Context, cfg *container.Config, hc *container.HostConfig, platform string) (job.StepResult, string) {
	start := time.Now()
	var r job.StepResult
	fail := func(format string, args ...any) job.StepResult {
		r.Err = fmt.Sprintf(format, args...)
		r.Duration = time.Since(start)
		return r
	}
	osName, arch, _ := strings.Cut(platform, "/")
	created, err := e.cli.ContainerCreate(ctx, cfg, hc, nil, &ocispec.Platform{OS: osName, Architecture: arch}, "")
	if err != nil {
		return fail("create container: %v", err), ""
	}
	id := created.ID
	waitC, errC := e.cli.ContainerWait(ctx, id, container.WaitConditionNextExit)
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fail("start container: %v", err), id
	}
	select {
	case w := <-waitC:
		r.ExitCode = int(w.StatusCode)
		if w.Error != nil && w.Error.Message != "" {
			r.Err = w.Error.Message
		}
	case err := <-errC:
		if ctx.Err() == nil {
			r.Err = fmt.Sprintf("wait: %v", err)
		}
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		kctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = e.cli.ContainerKill(kctx, id, "KILL")
		cancel()
		r.ExitCode = -1
	}
	// Logs are read with a context of their own so a cancelled run still
	// reports what it printed.
	lctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if rc, err := e.cli.ContainerLogs(lctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true}); err == nil {
		_, err = stdcopy.StdCopy(&stdout, &stderr, rc)
		rc.Close()
		if err != nil && r.Err == "" {
			r.Err = fmt.Sprintf("read output: %v", err)
		}
	} else if r.Err == "" {
		r.Err = fmt.Sprintf("read output: %v", err)
	}
	r.Stdout = stdout.String()
	r.Stderr, r.CPUSeconds = splitCPU(stderr.String())
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

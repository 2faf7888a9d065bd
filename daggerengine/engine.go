// Package daggerengine runs cell Specs on a Dagger engine through the
// published SDK (dagger.io/dagger). The Dagger module in ci/ and the
// `parity` command under `dagger run` both end here, so the module stays a
// thin shell. Steps are withExec calls on a container built once per cell;
// the engine caches them, so an unchanged re-run is served from cache.
package daggerengine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/runner"
)

// Engine runs cells in one Dagger session.
type Engine struct {
	c      *dagger.Client
	src    *dagger.Directory
	native matrix.Arch
}

var _ runner.Runtime = (*Engine)(nil)

// New binds a session and the module's source directory.
func New(ctx context.Context, c *dagger.Client, src *dagger.Directory) (*Engine, error) {
	p, err := c.DefaultPlatform(ctx)
	if err != nil {
		return nil, fmt.Errorf("dagger: default platform: %w", err)
	}
	arch, err := matrix.ParseArch(archOf(string(p)))
	if err != nil {
		return nil, fmt.Errorf("dagger: engine platform %s: %w", p, err)
	}
	return &Engine{c: c, src: src, native: arch}, nil
}

// archOf takes the arch of "linux/amd64" or "linux/arm64/v8".
func archOf(platform string) string {
	if parts := strings.Split(platform, "/"); len(parts) >= 2 {
		return parts[1]
	}
	return platform
}

// Name implements runner.Runtime.
func (e *Engine) Name() string { return "dagger" }

// Traits says what Dagger cannot honour, so the policies can say so.
func (e *Engine) Traits() policies.Traits {
	return policies.Traits{Name: "dagger", NativeArch: e.native}
}

// Start implements runner.Runtime.
func (e *Engine) Start(ctx context.Context, s job.Spec) (runner.Cell, error) {
	ctr := e.c.Container(dagger.ContainerOpts{Platform: dagger.Platform(s.Platform)}).From(s.Image)
	ref, err := ctr.ImageRef(ctx)
	if err != nil {
		return nil, fmt.Errorf("dagger: pull %s for %s: %w", s.Image, s.Platform, err)
	}
	return &cell{e: e, spec: s, base: e.apply(ctr, baseOps(s)), ref: ref}, nil
}

type cell struct {
	e    *Engine
	spec job.Spec
	base *dagger.Container
	ref  string
}

func (c *cell) PlatformDigest() string { return c.ref }
func (c *cell) Close() error           { return nil }

// Exec implements runner.Cell. A setup step's changes carry over: later
// steps start from its container.
func (c *cell) Exec(ctx context.Context, st job.Step) job.StepResult {
	start := time.Now()
	r := job.StepResult{Name: st.Name}
	ctr, err := c.e.apply(c.base, stepOps(c.spec, st)).Sync(ctx)
	if err == nil {
		r.ExitCode, err = ctr.ExitCode(ctx)
	}
	if err == nil {
		r.Stdout, err = ctr.Stdout(ctx)
	}
	if err == nil {
		r.Stderr, err = ctr.Stderr(ctx)
	}
	if err != nil {
		r.Err = err.Error()
	}
	if st.Name == job.StepSetup && err == nil && r.ExitCode == 0 {
		c.base = ctr
	}
	r.Duration = time.Since(start)
	return r
}

func (e *Engine) apply(ctr *dagger.Container, ops []op) *dagger.Container {
	for _, o := range ops {
		switch o.kind {
		case opEnv:
			ctr = ctr.WithEnvVariable(o.path, o.value)
		case opMountSource:
			ctr = ctr.WithMountedDirectory(o.path, e.src, dagger.ContainerWithMountedDirectoryOpts{ReadOnly: o.readOnly})
		case opMountTemp:
			ctr = ctr.WithMountedTemp(o.path, dagger.ContainerWithMountedTempOpts{Size: o.size})
		case opMountCache:
			ctr = ctr.WithMountedCache(o.path, e.c.CacheVolume(o.value), dagger.ContainerWithMountedCacheOpts{Owner: o.owner})
		case opMountFile:
			ctr = ctr.WithMountedFile(o.path, e.c.Host().File(o.value))
		case opWorkdir:
			ctr = ctr.WithWorkdir(o.path)
		case opUser:
			ctr = ctr.WithUser(o.value)
		case opExec:
			ctr = ctr.WithExec(o.args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny, InsecureRootCapabilities: o.insecure})
		}
	}
	return ctr
}

// Package dockerengine runs cell Specs on a Docker Engine through its API
// (the official Go client; DOCKER_HOST and friends are honoured). It maps the
// Spec exactly where Docker can: read-only root, exec tmpfs, read-only
// source, per-cell cache volumes, no network for probe and tests, one
// capability at most, no-new-privileges, a non-root user, the platform's own
// manifest pulled by digest and checked after the pull.
package dockerengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pins"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/runner"
)

// MinAPIVersion is the oldest Engine API Parity speaks: Docker 20.10.
const MinAPIVersion = "1.41"

// Options configure the engine.
type Options struct {
	SourceDir string       // the module on the daemon's host; bind-mounted read-only
	Registry  pins.Options // how image indexes are read to pick each platform's manifest
	Logf      func(format string, args ...any)
	// CopyViews makes every cache view a copy, as on a daemon that cannot
	// mount an overlay (views.go): the fallback, on any daemon.
	CopyViews bool
}

// Engine is a connection to one Docker daemon.
type Engine struct {
	cli    *client.Client
	opt    Options
	runID  string
	native matrix.Arch
	// The daemon's host, from which the limits policies derive defaults.
	hostMemory int64
	hostCPUs   int
	// This process, in every container's labels, so a later run can tell
	// whether the run that made a container is still alive.
	host, pid string
	paths     imagePaths // files copied out of other images (imagepath.go)
	views     views      // the run's cache views (views.go)
}

var (
	_ runner.Runtime    = (*Engine)(nil)
	_ runner.StreamCell = (*cell)(nil)
)

// New connects to the daemon named by the environment (DOCKER_HOST, ...) and
// refuses one too old to honour the Spec.
func New(ctx context.Context, opt Options) (*Engine, error) {
	if opt.SourceDir != "" {
		abs, err := filepath.Abs(opt.SourceDir)
		if err != nil {
			return nil, err
		}
		opt.SourceDir = abs
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	ping, err := cli.Ping(ctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: cannot reach the daemon at %s: %w", cli.DaemonHost(), err)
	}
	cli.NegotiateAPIVersionPing(ping)
	if v := cli.ClientVersion(); versions.LessThan(v, MinAPIVersion) {
		cli.Close()
		return nil, fmt.Errorf("docker: the daemon speaks Engine API %s; Parity needs %s or newer (Docker 20.10+)", v, MinAPIVersion)
	}
	info, err := cli.Info(ctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: info: %w", err)
	}
	native, err := matrix.ParseArch(info.Architecture)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: daemon architecture: %w", err)
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	b := make([]byte, 6)
	rand.Read(b)
	e := &Engine{cli: cli, opt: opt, runID: hex.EncodeToString(b), native: native, hostMemory: info.MemTotal, hostCPUs: info.NCPU}
	if h, err := os.Hostname(); err == nil {
		if pid, ok := ProcessLabel(os.Getpid()); ok {
			e.host, e.pid = h, pid
		}
	}
	// Connecting touches nothing: sweeping dead runs' containers is
	// SweepStale, which a run calls (parity plan never does).
	return e, nil
}

// Client is the underlying Docker client, for tests and tools.
func (e *Engine) Client() *client.Client { return e.cli }

// RunID is the value of LabelRun on every container this Engine creates.
func (e *Engine) RunID() string { return e.runID }

// Name implements runner.Runtime.
func (e *Engine) Name() string { return "docker" }

// Traits says what Docker honours of a Spec: everything.
func (e *Engine) Traits() policies.Traits {
	return policies.Traits{
		Name: "docker", ReadOnlyRootfs: true, SingleCapability: true, NetworkPerStep: true, NoNewPrivileges: true, NativeArch: e.native,
		ReadOnlyCaches: true, CacheViews: true, SeccompProfile: true, ResourceLimits: true, UserTmpfs: true, HostMemoryBytes: e.hostMemory, HostCPUs: e.hostCPUs,
	}
}

// Close removes whatever containers of this run are left (an interrupted
// run) and closes the connection. Cache volumes stay: they are the cache.
func (e *Engine) Close() error { return e.CloseContext(context.Background()) }

// CloseTimeout bounds Close's clean-up.
const CloseTimeout = 30 * time.Second

// CloseContext is Close with its clean-up (at most CloseTimeout) also cut
// short when ctx is cancelled: a second Ctrl-C.
func (e *Engine) CloseContext(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, CloseTimeout)
	defer cancel()
	err := e.sweep(ctx)
	return errors.Join(err, e.removeViews(ctx, 0), e.removeImagePaths(), e.cli.Close())
}

func (e *Engine) sweep(ctx context.Context) error {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelRun+"="+e.runID))})
	if err != nil {
		return fmt.Errorf("docker: list leftovers: %w", err)
	}
	var errs []error
	for _, c := range list {
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Start implements runner.Runtime: image resolved per platform, pulled by
// digest and checked, cache volumes created and handed to the cell's user.
func (e *Engine) Start(ctx context.Context, s job.Spec) (runner.Cell, error) {
	if e.opt.SourceDir == "" {
		return nil, errors.New("docker: no source directory")
	}
	s, err := e.withImagePaths(ctx, s)
	if err != nil {
		return nil, err
	}
	img, err := e.ensureImage(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, m := range s.Mounts {
		if m.Kind != job.MountCache {
			continue
		}
		if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: m.Name, Labels: map[string]string{LabelCache: s.Cell.Key()}}); err != nil {
			return nil, fmt.Errorf("docker: cache volume %s: %w", m.Name, err)
		}
	}
	views, err := e.viewsFor(ctx, s, img.id)
	if err != nil {
		return nil, err
	}
	c := &cell{e: e, spec: s, image: img.id, digest: img.platformDigest, views: views}
	if err := e.prepareCaches(ctx, s, img.id, views); err != nil {
		return nil, err
	}
	return c, nil
}

// prepareCaches hands the cache volumes, and the run's views of them, to
// the cell's user: a new volume is root's. Mounting the views proves the
// daemon can mount them; while it cannot, each view is made the next way
// (fallBack: an overlay without metacopy, then a copy).
func (e *Engine) prepareCaches(ctx context.Context, s job.Spec, image string, views map[string]string) error {
	cfg, hc, ok := chownConfig(s, image, e.owner(), views)
	if !ok {
		return nil
	}
	for attempt := 0; ; attempt++ {
		r := e.run(ctx, cfg, hc, s.Platform, nil)
		if r.Err == "" && r.ExitCode == 0 {
			return nil
		}
		why := fmt.Errorf("exit %d %s%s", r.ExitCode, r.Err, strings.TrimSpace(r.Stderr))
		if len(views) == 0 || attempt == 2 || ctx.Err() != nil {
			return fmt.Errorf("docker: preparing cache volumes: %w", why)
		}
		for _, m := range s.Mounts {
			if _, ok := views[m.Name]; ok {
				if err := e.fallBack(ctx, s, m, image, e.modeOf(m.Name), why); err != nil {
					return fmt.Errorf("docker: a view of cache volume %s: %w", m.Name, err)
				}
			}
		}
	}
}

type cell struct {
	e      *Engine
	spec   job.Spec
	image  string // image ID the steps run
	digest string
	views  map[string]string // cache volume -> the run's view of it (views.go)
}

func (c *cell) PlatformDigest() string { return c.digest }
func (c *cell) Close() error           { return nil } // each step's container is removed as it ends

// Exec implements runner.Cell.
func (c *cell) Exec(ctx context.Context, st job.Step) job.StepResult {
	return c.ExecStream(ctx, st, nil)
}

// ExecStream implements runner.StreamCell: stdout also goes to w as the
// step prints it.
func (c *cell) ExecStream(ctx context.Context, st job.Step, w io.Writer) job.StepResult {
	if st.Name == job.StepSetup {
		return c.setup(ctx, st)
	}
	cfg, hc, err := containerConfig(c.spec, st, c.image, c.e.opt.SourceDir, c.e.owner(), c.views)
	if err != nil {
		return job.StepResult{Name: st.Name, Err: err.Error()}
	}
	r := c.e.run(ctx, cfg, hc, c.spec.Platform, w)
	r.Name = st.Name
	return r
}

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
	"sync/atomic"
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
	// SourceDir is the module on this host: bind-mounted read-only where
	// the daemon is local, copied into a volume of a remote one.
	SourceDir string
	Registry  pins.Options // how image indexes are read to pick each platform's manifest
	Logf      func(format string, args ...any)
	// CopyViews makes every cache view a copy, as on a daemon that cannot
	// mount an overlay (views.go): the fallback, on any daemon.
	CopyViews bool
	// Endpoint is the daemon to connect to; the zero value is the default
	// (DOCKER_HOST, else the local socket).
	Endpoint Endpoint
	// RunID labels every container (LabelRun); "" makes a new one. The
	// engines of one run (a Fleet) share it.
	RunID string
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

	// Where the daemon is (Options.Endpoint): a remote one gets copies of
	// this host's files in volumes of its own (deliver.go), mounted by
	// subpath where its API has them (1.45+, Docker 26).
	ep       Endpoint
	remote   bool
	subpaths bool
	sent     deliveries
	// lost is the first sign that the daemon went away (a step's or a
	// start's broken connection): later cells fail at once, naming it.
	lost atomic.Pointer[string]
}

var (
	_ runner.Runtime    = (*Engine)(nil)
	_ runner.StreamCell = (*cell)(nil)
)

// New connects to the daemon of opt.Endpoint (by default the one the
// environment names: DOCKER_HOST, ...) and refuses one too old to honour
// the Spec.
func New(ctx context.Context, opt Options) (*Engine, error) {
	if opt.SourceDir != "" {
		abs, err := filepath.Abs(opt.SourceDir)
		if err != nil {
			return nil, err
		}
		opt.SourceDir = abs
	}
	ep := opt.Endpoint
	copts, err := ep.clientOpts()
	if err != nil {
		return nil, fmt.Errorf("docker: %s: %w", ep, err)
	}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	ping, err := cli.Ping(ctx)
	if err != nil {
		cli.Close()
		if !ep.Default() {
			return nil, lostError{fmt.Sprintf("endpoint %s: cannot reach the daemon: %v", ep, oneLine(err))}
		}
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
	if opt.RunID == "" {
		opt.RunID = NewRunID()
	}
	e := &Engine{cli: cli, opt: opt, runID: opt.RunID, native: native, hostMemory: info.MemTotal, hostCPUs: info.NCPU,
		ep: ep, remote: ep.Remote(), subpaths: !versions.LessThan(cli.ClientVersion(), SubpathAPIVersion)}
	if h, err := os.Hostname(); err == nil {
		if pid, ok := ProcessLabel(os.Getpid()); ok {
			e.host, e.pid = h, pid
		}
	}
	// Connecting touches nothing: sweeping dead runs' containers is
	// SweepStale, which a run calls (parity plan never does).
	return e, nil
}

// NewRunID is a fresh run id (LabelRun's value).
func NewRunID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SubpathAPIVersion is the Engine API that mounts one path of a volume
// (Docker 26): a remote daemon's copy of go.mod, of the CA bundle, of a
// file from another image, at its own path.
const SubpathAPIVersion = "1.45"

// Endpoint is the daemon this engine runs cells on.
func (e *Engine) Endpoint() Endpoint { return e.ep }

// Client is the underlying Docker client, for tests and tools.
func (e *Engine) Client() *client.Client { return e.cli }

// RunID is the value of LabelRun on every container this Engine creates.
func (e *Engine) RunID() string { return e.runID }

// Name implements runner.Runtime.
func (e *Engine) Name() string { return "docker" }

// Traits says what Docker honours of a Spec: everything. A remote daemon
// (not a unix socket) gets the source as a copy, and says so.
func (e *Engine) Traits() policies.Traits {
	t := policies.Traits{
		Name: "docker", ReadOnlyRootfs: true, SingleCapability: true, NetworkPerStep: true, NoNewPrivileges: true, NativeArch: e.native,
		ReadOnlyCaches: true, CacheViews: true, SeccompProfile: true, ResourceLimits: true, UserTmpfs: true, HostMemoryBytes: e.hostMemory, HostCPUs: e.hostCPUs,
	}
	if e.remote {
		t.Endpoint, t.SourceCopied = e.ep.host(), true
		t.EndpointWhy = e.where()
	}
	return t
}

// where says why cells run on this engine's daemon, and what reaches it.
func (e *Engine) where() string {
	why := "the default daemon (" + defaultHost() + ")"
	if !e.ep.Default() {
		why = fmt.Sprintf("%s cells run on the daemon --endpoint %s names", e.ep.Platform, e.ep)
	}
	if e.remote {
		why += fmt.Sprintf(", which may be another machine: the source, the CA bundle and files of other images reach it as copies in volumes of its own, read-only to the cells (Engine API %s", e.cli.ClientVersion())
		if e.subpaths {
			why += ")"
		} else {
			why += ", before " + SubpathAPIVersion + ": without volume subpaths, --source-mode=copy and experiments that mount one file of another image cannot run there)"
		}
	} else {
		why += ", on this host: the source is bind-mounted read-only"
	}
	return why
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
	return errors.Join(err, e.removeViews(ctx, 0), e.removeDeliveries(ctx), e.removeImagePaths(), e.cli.Close())
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
	c, err := e.start(ctx, s)
	if err != nil && (client.IsErrConnectionFailed(err) || errors.Is(err, runner.ErrRuntimeLost)) {
		// The daemon went away while the cell was being prepared.
		return nil, e.lose(err)
	}
	return c, err
}

func (e *Engine) start(ctx context.Context, s job.Spec) (runner.Cell, error) {
	if e.opt.SourceDir == "" {
		return nil, errors.New("docker: no source directory")
	}
	if lost := e.lost.Load(); lost != nil {
		return nil, lostError{*lost}
	}
	if err := e.deliverable(s); err != nil {
		return nil, err
	}
	s, err := e.withImagePaths(ctx, s)
	if err != nil {
		return nil, err
	}
	img, err := e.ensureImage(ctx, s)
	if err != nil {
		return nil, err
	}
	var d *delivered
	if e.remote {
		if d, s, err = e.deliver(ctx, s, img.id); err != nil {
			return nil, err
		}
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
	c := &cell{e: e, spec: s, image: img.id, digest: img.platformDigest, views: views, sent: d}
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
		if r.RuntimeLost {
			return lostError{r.Err}
		}
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

// lostError is a Start that failed because the daemon is gone: the
// runner reports the cell runtime-lost.
type lostError struct{ msg string }

func (l lostError) Error() string        { return l.msg }
func (l lostError) Is(target error) bool { return target == runner.ErrRuntimeLost }

// lose returns the error that says the daemon went away, naming the
// endpoint, and records it (the first cause is kept) when the daemon does
// not answer a ping either: the endpoint's later cells then fail at once.
// A daemon that still answers lost one connection only, and is kept.
func (e *Engine) lose(err error) error {
	msg := fmt.Sprintf("endpoint %s: the daemon went away: %s", e.ep, oneLine(err))
	var le lostError
	if errors.As(err, &le) && strings.HasPrefix(le.msg, "endpoint ") {
		msg = le.msg
	}
	if prev := e.lost.Load(); prev != nil {
		return lostError{*prev}
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if _, perr := e.cli.Ping(ctx); perr != nil {
		e.lost.CompareAndSwap(nil, &msg)
	}
	return lostError{msg}
}

// pingTimeout bounds the check that a daemon is gone.
const pingTimeout = 10 * time.Second

func oneLine(err error) string {
	l, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	return l
}

type cell struct {
	e      *Engine
	spec   job.Spec
	image  string // image ID the steps run
	digest string
	views  map[string]string // cache volume -> the run's view of it (views.go)
	sent   *delivered        // a remote daemon's copies of this host's files; nil: bind mounts
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
	cfg, hc, err := containerConfig(c.spec, st, c.image, c.e.opt.SourceDir, c.e.owner(), c.views, c.sent)
	if err != nil {
		return job.StepResult{Name: st.Name, Err: err.Error()}
	}
	r := c.e.run(ctx, cfg, hc, c.spec.Platform, w)
	r.Name = st.Name
	if r.RuntimeLost {
		// Said once per endpoint; its later cells fail at start.
		c.e.lose(errors.New(r.Err))
		if !c.e.ep.Default() {
			r.Err = fmt.Sprintf("endpoint %s: %s", c.e.ep, r.Err)
		}
	}
	return r
}

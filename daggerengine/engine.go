// Package daggerengine runs cell Specs on a Dagger engine through the
// published SDK (dagger.io/dagger). The Dagger module in ci/ and the
// `parity` command under `dagger run` both end here, so the module stays a
// thin shell. Steps are withExec calls on a container built once per cell;
// the engine caches them, so an unchanged re-run is served from cache.
package daggerengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pins"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// Engine runs cells in one Dagger session.
type Engine struct {
	c       *dagger.Client
	opt     Options
	native  matrix.Arch
	started time.Time // steps that recorded an earlier start came from the cache
	call    string    // this call's nonce (see stepOps)
}

// Options are what a run takes from the session: the source, and the
// files and secrets a module call hands over as Dagger objects.
type Options struct {
	Source *dagger.Directory
	// Lock replaces the source's parity.lock.json; nil reads that one, if
	// any (else the built-in pins).
	Lock *dagger.File
	// CABundle holds extra CA certificates for the deps step: a File, since
	// a module's host is not the caller's. nil: none, or a host path given
	// in the request (under `dagger run`, where the host is the caller's).
	CABundle *dagger.File
	// Netrc and GitToken are private-module credentials, for the deps step
	// only; the token is offered to GitHost alone (default github.com).
	Netrc    *dagger.Secret
	GitToken *dagger.Secret
	GitHost  string
	// RegistryMirror fetches images (and the indexes read to pick each
	// platform's manifest) through a mirror.
	RegistryMirror string
	// Version is what reports name as the tool's version; "" takes it
	// from the build info.
	Version string
}

var (
	_ runner.Runtime    = (*Engine)(nil)
	_ runner.StreamCell = (*cell)(nil)
)

// New binds a session and the run's inputs.
func New(ctx context.Context, c *dagger.Client, opt Options) (*Engine, error) {
	if opt.Source == nil {
		return nil, errors.New("dagger: no source directory")
	}
	if opt.GitHost == "" {
		opt.GitHost = "github.com"
	}
	p, err := c.DefaultPlatform(ctx)
	if err != nil {
		return nil, fmt.Errorf("dagger: default platform: %w", err)
	}
	arch, err := matrix.ParseArch(archOf(string(p)))
	if err != nil {
		return nil, fmt.Errorf("dagger: engine platform %s: %w", p, err)
	}
	return &Engine{c: c, opt: opt, native: arch, started: time.Now(), call: newCall()}, nil
}

// NativeArch is the engine's own arch: cells of any other run emulated.
func (e *Engine) NativeArch() matrix.Arch { return e.native }

func (e *Engine) credentials() credentials {
	return credentials{netrc: e.opt.Netrc != nil, gitToken: e.opt.GitToken != nil, gitHost: e.opt.GitHost}
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

// Traits says what Dagger cannot honour, so the policies can say so: no
// read-only root, no single capability, no per-step network switch, no
// no-new-privileges (measured: NoNewPrivs 0 in every cell).
func (e *Engine) Traits() policies.Traits {
	return policies.Traits{Name: "dagger", NativeArch: e.native}
}

// Start implements runner.Runtime. The platform's manifest is picked out of
// the pinned index here, as the Docker runtime does, and pulled by its own
// digest: PlatformDigest then names exactly what ran. Where the index
// cannot be read from here (a registry only the engine has credentials
// for) the engine picks the platform from the index itself, and the
// digest is left unknown rather than filled with the index's.
func (e *Engine) Start(ctx context.Context, s job.Spec) (runner.Cell, error) {
	from, digest, err := e.imageFor(ctx, s)
	if err != nil {
		return nil, err
	}
	ctr := e.c.Container(dagger.ContainerOpts{Platform: dagger.Platform(s.Platform)}).From(from)
	if _, err := ctr.ImageRef(ctx); err != nil {
		return nil, fmt.Errorf("dagger: pull %s for %s: %w", from, s.Platform, err)
	}
	if s, err = e.keepPresent(ctx, s); err != nil {
		return nil, err
	}
	return &cell{e: e, spec: s, image: ctr, base: e.apply(ctr, baseOps(s)), digest: digest}, nil
}

// keepPresent drops from source copies the kept files the source lacks (a
// module without dependencies has no go.sum): mounting a missing file fails.
func (e *Engine) keepPresent(ctx context.Context, s job.Spec) (job.Spec, error) {
	mounts := slices.Clone(s.Mounts)
	for i, m := range mounts {
		if m.Kind != job.MountSourceCopy {
			continue
		}
		entries, err := e.opt.Source.Entries(ctx)
		if err != nil {
			return s, fmt.Errorf("dagger: read source: %w", err)
		}
		mounts[i].Keep = slices.DeleteFunc(slices.Clone(m.Keep), func(f string) bool { return !slices.Contains(entries, f) })
	}
	s.Mounts = mounts
	return s, nil
}

// imageFor is the reference to pull for s, and the platform manifest's
// digest when it could be resolved.
func (e *Engine) imageFor(ctx context.Context, s job.Spec) (string, string, error) {
	ref, err := matrix.ParsePinned(s.Image)
	if err != nil {
		return "", "", err
	}
	repo, err := pins.ApplyMirror(ref.Repo, e.opt.RegistryMirror)
	if err != nil {
		return "", "", fmt.Errorf("--registry-mirror: %w", err)
	}
	pd, err := pins.Resolve(ctx, s.Image, s.Platform, pins.Options{Mirror: e.opt.RegistryMirror})
	if err != nil {
		if ctx.Err() != nil {
			return "", "", err
		}
		return repo + "@" + ref.Digest, "", nil
	}
	return repo + "@" + pd, pd, nil
}

type cell struct {
	e    *Engine
	spec job.Spec
	// image is the bare image (after setup, when it ran); base is image
	// with the cell's environment and mounts, where every other step runs.
	image  *dagger.Container
	base   *dagger.Container
	digest string
}

func (c *cell) PlatformDigest() string { return c.digest }
func (c *cell) Close() error           { return nil }

// Exec implements runner.Cell. The setup step runs on the bare image, so
// its cache key holds the image and the command alone (an edit of the
// source does not install the toolchain again), and its changes carry
// over: later steps start from its container. A command that fails is an
// ExecError the engine does not cache (see timeWrapper): its status and
// output, cut by the engine to 100 KiB, are the step's result. The step's
// own timing marker gives its duration, and says whether the engine served
// it from cache.
func (c *cell) Exec(ctx context.Context, st job.Step) job.StepResult {
	return c.ExecStream(ctx, st, nil)
}

// ExecStream implements runner.StreamCell. The test step's stdout went to
// a file (see testStdout): it is exported next to Parity and copied to w,
// keeping only a capped copy in the result, so the stream is parsed once
// and never held whole.
func (c *cell) ExecStream(ctx context.Context, st job.Step, w io.Writer) job.StepResult {
	start := time.Now()
	r := job.StepResult{Name: st.Name}
	from := c.base
	if st.Name == job.StepSetup {
		from = c.image
	}
	ctr, err := c.e.apply(from, stepOps(c.spec, st, c.e.credentials(), c.e.call)).Sync(ctx)
	var failed *dagger.ExecError
	if errors.As(err, &failed) {
		// The engine keeps no file of a failed exec: the wrapper printed
		// the end of an incomplete test run's stream (timeWrapper), and
		// that is what is left of it.
		r.ExitCode, r.Stdout, r.Stderr, err = failed.ExitCode, failed.Stdout, failed.Stderr, nil
		if st.Name == job.StepTest && w != nil && r.Stdout != "" {
			_, _ = io.WriteString(w, r.Stdout)
		}
		ctr = nil
	} else if err == nil {
		if st.Name == job.StepTest {
			r.Stdout, err = c.e.streamFile(ctx, ctr.File(testStdout), w)
		} else {
			r.Stdout, err = ctr.Stdout(ctx)
		}
		if err == nil {
			r.Stderr, err = ctr.Stderr(ctx)
		}
	}
	if err != nil {
		r.Err = err.Error()
	}
	r.Duration = time.Since(start)
	timed(&r, c.e.started)
	if st.Name == job.StepSetup && ctr != nil && r.Err == "" && r.ExitCode == 0 {
		c.image = ctr
		c.base = c.e.apply(ctr, baseOps(c.spec))
	}
	return r
}

// streamFile exports f to a temporary file here, copies it to w (when not
// nil) and returns its capped head and tail.
func (e *Engine) streamFile(ctx context.Context, f *dagger.File, w io.Writer) (string, error) {
	dir, err := os.MkdirTemp("", "parity-stdout-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "stdout")
	if _, err := f.Export(ctx, local); err != nil {
		return "", fmt.Errorf("dagger: read the test step's output: %w", err)
	}
	in, err := os.Open(local)
	if err != nil {
		return "", err
	}
	defer in.Close()
	kept := testjson.NewCapWriter(MaxStepOutput)
	var out io.Writer = kept
	if w != nil {
		out = io.MultiWriter(kept, w)
	}
	if _, err := io.Copy(out, in); err != nil {
		return "", fmt.Errorf("read the test step's output: %w", err)
	}
	s, _ := kept.String()
	return s, nil
}

// MaxStepOutput caps what a step's result keeps of the test step's stdout
// (head and tail), as on Docker: the stream itself is parsed as it is read.
const MaxStepOutput = 1 << 20

// timed replaces the measured duration with the one the step recorded, and
// marks a step recorded before this run began as served from cache.
// Where the engine saw the command succeed, the exit status is the one the
// marker recorded (go test's 1 is a result the wrapper lets the engine
// cache); where the engine saw it fail, the engine's status stands.
func timed(r *job.StepResult, runStart time.Time) {
	rest, t, ok := splitTime(r.Stderr)
	if !ok {
		return
	}
	r.Stderr, r.Duration, r.Cached, r.Started = rest, t.duration, servedFromCache(t, runStart), t.start
	if r.ExitCode == 0 {
		r.ExitCode = t.rc
	}
}

func (e *Engine) apply(ctr *dagger.Container, ops []op) *dagger.Container {
	for _, o := range ops {
		switch o.kind {
		case opEnv:
			ctr = ctr.WithEnvVariable(o.path, o.value)
		case opMountSource:
			ctr = ctr.WithMountedDirectory(o.path, e.opt.Source, dagger.ContainerWithMountedDirectoryOpts{ReadOnly: o.readOnly})
		case opMountTemp:
			ctr = ctr.WithMountedTemp(o.path, dagger.ContainerWithMountedTempOpts{Size: o.size})
		case opUserDir:
			ctr = ctr.WithDirectory(o.path, e.c.Directory(), dagger.ContainerWithDirectoryOpts{Owner: o.owner})
		case opMountCache:
			ctr = ctr.WithMountedCache(o.path, e.c.CacheVolume(o.value), dagger.ContainerWithMountedCacheOpts{Owner: o.owner})
		case opMountFile:
			ctr = ctr.WithMountedFile(o.path, e.file(o.value))
		case opMountSourceFile:
			ctr = ctr.WithMountedFile(o.path, e.opt.Source.File(o.value))
		case opMountImagePath:
			ctr = e.mountImagePath(ctr, o)
		case opMountSecret:
			ctr = ctr.WithMountedSecret(o.path, e.secret(o.value), dagger.ContainerWithMountedSecretOpts{Owner: o.owner, Mode: 0o400})
		case opSecretEnv:
			ctr = ctr.WithSecretVariable(o.path, e.secret(o.value))
		case opWorkdir:
			ctr = ctr.WithWorkdir(o.path)
		case opUser:
			ctr = ctr.WithUser(o.value)
		case opUnmount:
			ctr = ctr.WithoutMount(o.path)
		case opExec:
			// Expect success (the default): a failure is an ExecError, and
			// the engine caches no failure (see timeWrapper).
			ctr = ctr.WithExec(o.args, dagger.ContainerWithExecOpts{InsecureRootCapabilities: o.insecure})
		}
	}
	return ctr
}

// newCall is a random nonce for one call (one Engine).
func newCall() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// caBundleFile is the name the plan gives a CA bundle that came as a File.
const caBundleFile = "dagger-file:ca-bundle"

// file is a file mount's content: the CA bundle File, or a host path
// (under `dagger run`, the caller's host).
func (e *Engine) file(name string) *dagger.File {
	if name == caBundleFile && e.opt.CABundle != nil {
		return e.opt.CABundle
	}
	return e.c.Host().File(name)
}

func (e *Engine) secret(name string) *dagger.Secret {
	if name == secretNetrc {
		return e.opt.Netrc
	}
	return e.opt.GitToken
}

// Client is the session the engine runs in, to bind the caller's objects
// (a Dagger module's) to it.
func (e *Engine) Client() *dagger.Client { return e.c }

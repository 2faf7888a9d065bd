// Package integration runs Parity on real containers: Docker Engine, images
// built here and served from a loopback OCI registry by digest, and the
// fixture module in testdata/fixture whose tests plant a divergence on each
// axis. With CI=true a missing Docker or image toolchain fails the tests;
// elsewhere they skip and say why.
package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/internal/testimages"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// harness is shared by every test of the package: images are built (or
// taken from the cache) and pushed once.
type harness struct {
	reg    *testimages.Registry
	images []testimages.Image
	arm64  bool
	// s390x: the glibc index holds the s390x stand-in (qemu-s390x and
	// Debian's s390x cross compiler here); i386: it holds 386 (the kernel
	// runs 32-bit x86 programs).
	s390x  bool
	i386   bool
	lock   []byte
	fixDir string
}

// newerGo is the second Go the harness pins (amd64 glibc and musl only),
// for the go axis: TestGoVersionExperiment.
const newerGo = "1.27.3"

var (
	setupOnce sync.Once
	shared    *harness
	setupErr  error
	skipWhy   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.reg.Close()
	}
	os.Exit(code)
}

// env returns the harness, failing the test in CI and skipping it elsewhere
// when this machine cannot run real containers.
func env(t *testing.T) *harness {
	t.Helper()
	setupOnce.Do(func() { shared, skipWhy, setupErr = setup(t) })
	if skipWhy != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the real-container tests, but: %s", skipWhy)
		}
		t.Skip(skipWhy)
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

func setup(t *testing.T) (*harness, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := exec.Command("docker", "info").Run(); err != nil {
		return nil, "no Docker daemon answers `docker info`", nil
	}
	arches := []string{"amd64"}
	arm64 := qemuARM64()
	if arm64 {
		arches = append(arches, "arm64")
	} else if os.Getenv("CI") != "" {
		return nil, "qemu-aarch64 binfmt is not registered (apt-get install qemu-user-static binfmt-support)", nil
	}
	// 386 runs natively on an amd64 kernel with IA32 emulation; without it
	// no 386 program runs at all (Go's fails under qemu-i386 too), so the
	// 386 cells are left out and TestPlatformsMatrix says so.
	i386 := testimages.Runs386()
	if i386 {
		arches = append(arches, "386")
	}
	s390x := qemuS390X()
	if s390x {
		arches = append(arches, "s390x")
	} else if os.Getenv("CI") != "" {
		return nil, "qemu-s390x binfmt is not registered (apt-get install qemu-user-static binfmt-support; update-binfmts --enable qemu-s390x)", nil
	}
	if err := testimages.CheckHost(arches); err != nil {
		return nil, err.Error(), nil
	}
	reg, err := testimages.StartRegistry(context.Background(), "") // lives until TestMain ends
	if err != nil {
		return nil, "", err
	}
	start := time.Now()
	imgs, err := testimages.Build(ctx, reg, testimages.Options{Arches: arches, Logf: t.Logf})
	if err != nil {
		reg.Close()
		return nil, "", fmt.Errorf("build test images: %w", err)
	}
	// The Go-version experiment needs a second Go: amd64 only (glibc and
	// musl), in an image list of its own, so the images above and every
	// test that asks for Go 1.26.8 stay as they are.
	newer, err := testimages.Build(ctx, reg, testimages.Options{Arches: []string{"amd64"}, GoVersions: []string{newerGo}, Logf: t.Logf})
	if err != nil {
		reg.Close()
		return nil, "", fmt.Errorf("build go%s test images: %w", newerGo, err)
	}
	imgs = append(imgs, newer...)
	t.Logf("test images ready in %s", time.Since(start).Round(time.Second))
	var lock matrix.Lock
	lock.Version = matrix.LockVersion
	for _, im := range imgs {
		lock.Pins = append(lock.Pins, matrix.Pin{Go: im.Go, Libc: matrix.Libc(im.Libc), Image: im.Ref})
	}
	fix, err := filepath.Abs("../testdata/fixture")
	if err != nil {
		return nil, "", err
	}
	return &harness{reg: reg, images: imgs, arm64: arm64, s390x: s390x, i386: i386, lock: lock.Marshal(), fixDir: fix}, "", nil
}

func qemuARM64() bool {
	_, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-aarch64")
	return err == nil
}

func qemuS390X() bool {
	_, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-s390x")
	return err == nil
}

// image returns the Go 1.26.8 image of libc, the one every test but the
// Go-version one runs on.
func (h *harness) image(libc string) testimages.Image {
	for _, im := range h.images {
		if im.Libc == libc && im.Go == testimages.DefaultGoVersion {
			return im
		}
	}
	panic("no " + libc + " image")
}

// scope gives each test its own cache volumes, removed when it ends, so a
// test never sees another's (or an earlier run's) module cache.
func scope(t *testing.T, eng *dockerengine.Engine) string {
	b := make([]byte, 4)
	rand.Read(b)
	s := "parity-it-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		vols, err := eng.Client().VolumeList(ctx, volume.ListOptions{})
		if err != nil {
			return
		}
		for _, v := range vols.Volumes {
			if strings.HasPrefix(v.Name, s+"-") {
				eng.Client().VolumeRemove(ctx, v.Name, true)
			}
		}
	})
	return s
}

// engine connects to the daemon with the fixture as source.
func (h *harness) engine(t *testing.T, src string) *dockerengine.Engine {
	t.Helper()
	eng, err := dockerengine.New(context.Background(), dockerengine.Options{SourceDir: src, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// depsPolicy lets the deps step reach the module proxy from inside a
// container: this machine's proxy and CA bundle, passed explicitly.
func depsPolicy(o policies.Options) policies.Options {
	o.DepsEnv, o.CABundle = testimages.HostDeps()
	return o
}

// run plans and executes the fixture on Docker and returns the report.
func (h *harness) run(t *testing.T, ctx context.Context, eng *dockerengine.Engine, req pipeline.Request, opt runner.Options) (report.Report, pipeline.Plan) {
	t.Helper()
	return h.runIn(t, ctx, eng, h.fixDir, req, opt)
}

// describedRuntime is a runtime that says what it honours: an engine, or a
// fleet of them.
type describedRuntime interface {
	runner.Runtime
	Traits() policies.Traits
}

// runIn plans and executes the module in dir with the harness's pins.
func (h *harness) runIn(t *testing.T, ctx context.Context, eng describedRuntime, dir string, req pipeline.Request, opt runner.Options) (report.Report, pipeline.Plan) {
	t.Helper()
	goMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := req.Inputs(goMod, h.lock, "test lock")
	if err != nil {
		t.Fatal(err)
	}
	in.Policy = depsPolicy(in.Policy)
	plan, err := pipeline.MakePlan(in, eng.Traits())
	if err != nil {
		t.Fatal(err)
	}
	meta := pipeline.Meta{Tool: "parity", Version: "test", Options: in.Policy}
	_, bounded := ctx.Deadline()
	limit := !bounded && emulated(plan)
	rep, stalled := execute(t, ctx, limit, plan, eng, opt, meta)
	if stalled {
		t.Logf("NOT A RESULT: the run passed %s with an emulated cell still running; qemu-user can deadlock a forked child of the go command (seen once, 2026-12-07: a test step in futex waits, no CPU, for 40 minutes). Running it once more", emulatedRunLimit)
		if rep, stalled = execute(t, ctx, limit, plan, eng, opt, meta); stalled {
			t.Fatalf("a run with emulated cells passed %s twice: qemu-user stalled again", emulatedRunLimit)
		}
	}
	return rep, plan
}

// execute runs the plan, within emulatedRunLimit when limit is set, and
// reports whether the limit ended it.
func execute(t *testing.T, ctx context.Context, limit bool, plan pipeline.Plan, rt describedRuntime, opt runner.Options, meta pipeline.Meta) (report.Report, bool) {
	t.Helper()
	runCtx := ctx
	if limit {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, emulatedRunLimit)
		defer cancel()
	}
	start := time.Now()
	rep := pipeline.Execute(runCtx, plan, rt, opt, meta)
	t.Logf("%d cells in %s", len(plan.Specs), time.Since(start).Round(time.Second))
	return rep, errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
}

// emulatedRunLimit bounds one harness run with a cell under qemu-user, far
// above what such runs take here (under 10 minutes cold), so that a deadlocked
// emulator costs one more run rather than the package's -timeout.
const emulatedRunLimit = 25 * time.Minute

// emulated reports whether a cell of the plan runs under qemu-user.
func emulated(p pipeline.Plan) bool {
	for _, s := range p.Specs {
		for _, d := range s.Decisions {
			if d.Policy == policies.IDEmulation && d.Effect == "qemu" {
				return true
			}
		}
	}
	return false
}

// leftovers lists the containers this engine's run made that still exist.
// Only its own: other Parity runs (other tests, other people) may share
// the daemon, and their containers are theirs.
func leftovers(t *testing.T, eng *dockerengine.Engine) []string {
	t.Helper()
	own := filters.NewArgs(filters.Arg("label", dockerengine.LabelRun+"="+eng.RunID()))
	list, err := eng.Client().ContainerList(context.Background(), container.ListOptions{All: true, Filters: own})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID[:12]+" "+c.Labels[dockerengine.LabelCell]+"/"+c.Labels[dockerengine.LabelStep])
	}
	return ids
}

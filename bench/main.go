// Command bench measures Parity on the Docker runtime, on this machine, with
// images built locally (internal/testimages). For each suite — the passing
// packages of the fixture module, and a real module fetched through the
// module proxy at a pinned version — it reports four ratios:
//
//   - parallel efficiency: the matrix's wall time against the physical
//     limit max(longest cell alone, CPU-seconds of all cells / cores), with
//     CPU-seconds from the containers' cgroup accounting (goal <= 1.10);
//   - warm re-run: wall time of an unchanged re-run / the cold run's, with an
//     identical report; every test runs again (goal <= 0.20);
//   - orchestration overhead: one cell through Parity / the same work as one
//     hand-written `docker run` (goal <= 1.10);
//   - emulation cost: one arm64 cell under qemu (race off there, as the
//     race policy says) / the same cell native, with race as the matrix runs
//     it and with race off too (like for like);
//
// and, for the suites -new-machine names, the new-machine scenario
// (newmachine.go): cold, the cache directory restored with the source
// unchanged and with one line changed, and a second project's first run.
//
// It also says whether the machine was quiet enough for the figures to mean
// anything: noisy ones are marked as such.
//
// Usage: go run ./bench [-suite fixture,toml] [-go 1.26.8,1.27.3] [-runs 3] [-emulate toml] [-new-machine toml] [-write docs/benchmarks.md]
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/volume"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/internal/testimages"
	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

func main() {
	var o options
	flag.StringVar(&o.write, "write", "", "also write the figures as Markdown into this file, between its bench markers (the rest of the file is kept)")
	suiteList := flag.String("suite", "fixture,toml", "suites to measure: fixture (testdata/fixture), toml (github.com/BurntSushi/toml, fetched)")
	gos := flag.String("go", "1.26.8,1.27.3", "Go versions of the matrix (x glibc, musl on amd64: 4 native cells by default)")
	flag.IntVar(&o.runs, "runs", 3, "runs of the overhead comparison (the median counts)")
	emulate := flag.String("emulate", "toml", "of the suites measured, those that also time one arm64 cell under qemu against the same cell native (minutes each on 2 cores); none for no emulation")
	machine := flag.String("new-machine", "toml", "of the suites measured, those that also run the new-machine scenario (cold, cache directory restored, one line changed, a second project; see docs/benchmarks.md); none for none")
	flag.Parse()
	o.gos = pipeline.SplitList(*gos)
	for _, name := range pipeline.SplitList(*suiteList) {
		s, err := findSuite(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		o.suites = append(o.suites, s)
	}
	for _, name := range pipeline.SplitList(*emulate) {
		if name == "none" {
			continue
		}
		if _, err := findSuite(name); err != nil {
			fmt.Fprintln(os.Stderr, "bench: -emulate:", err)
			os.Exit(2)
		}
		// A suite not measured is not emulated either.
		if slices.ContainsFunc(o.suites, func(s suite) bool { return s.name == name }) {
			o.emulate = append(o.emulate, name)
		}
	}
	o.emulated = len(o.emulate) > 0
	for _, name := range pipeline.SplitList(*machine) {
		if name == "none" {
			continue
		}
		if _, err := findSuite(name); err != nil {
			fmt.Fprintln(os.Stderr, "bench: -new-machine:", err)
			os.Exit(2)
		}
		o.newMachine = append(o.newMachine, name)
	}
	if len(o.gos) == 0 || len(o.suites) == 0 || o.runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -go and -suite need at least one item, -runs at least 1")
		os.Exit(2)
	}
	o.command = strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " ")
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	suites   []suite
	gos      []string
	runs     int
	emulate  []string // suites that time an emulated cell
	emulated bool     // emulate is not empty
	// newMachine: suites that run the new-machine scenario.
	newMachine []string
	write      string
	command    string
}

// The images' musl variant is amd64 only, so native cells are amd64 and the
// emulated one arm64.
const (
	nativeArch   = matrix.AMD64
	emulatedArch = matrix.ARM64
)

type bench struct {
	opt    options
	lock   []byte
	images []testimages.Image
	// depsEnv and caBundle let the deps step reach the module proxy.
	depsEnv  map[string]string
	caBundle string

	// token prefixes every cache volume of this process, so cleanup and the
	// noise watch never mistake another run's for ours.
	token         string
	dockerVersion string
	started       time.Time // when timing started
	mu            sync.Mutex
	nScope        int
	runIDs        []string
	used          map[string]bool // scopes that ran: a cold run is a scope's first
	shared        []string        // caches another run was using when a cold run had to forget them
}

// result holds one suite's figures.
type result struct {
	suite   suite
	cells   []matrix.Cell
	tests   int // tests and subtests a cell runs
	alone   map[string]float64
	longest float64

	wall, cpu, cores float64
	warmWall         float64
	same             bool

	viaParity, byHand []float64

	emu     *emulation
	machine *newMachine
}

type emulation struct {
	native, emulated                  matrix.Cell
	nativeRace, nativeNoRace, emuTime float64
	emuCPU, nativeNoRaceCPU           float64
	emuFailed                         int // tests that fail under emulation (by design in the fixture)
}

func run(ctx context.Context, o options) error {
	if matrix.Arch(goruntime.GOARCH) != nativeArch {
		return fmt.Errorf("the bench runs on an %s host (the test images' musl variant is %s only), not %s", nativeArch, nativeArch, goruntime.GOARCH)
	}
	arches := []string{string(nativeArch)}
	if o.emulated {
		arches = append(arches, string(emulatedArch))
		// Only the binfmt handler: with the image cache warm, nothing else
		// of testimages.CheckHost (root, debootstrap) is needed.
		if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-aarch64"); err != nil {
			return fmt.Errorf("-emulate needs the qemu-aarch64 binfmt handler (apt-get install qemu-user-static binfmt-support), or run with -emulate none: %w", err)
		}
	}
	reg, err := testimages.StartRegistry(ctx, "")
	if err != nil {
		return err
	}
	defer reg.Close()
	imgs, err := testimages.Build(ctx, reg, testimages.Options{GoVersions: o.gos, Arches: arches, Logf: logf})
	if err != nil {
		return err
	}
	lock := matrix.Lock{Version: matrix.LockVersion}
	for _, im := range imgs {
		lock.Pins = append(lock.Pins, matrix.Pin{Go: im.Go, Libc: matrix.Libc(im.Libc), Image: im.Ref})
	}
	tok := make([]byte, 4)
	rand.Read(tok)
	b := &bench{opt: o, lock: lock.Marshal(), images: imgs, token: "parity-bench-" + hex.EncodeToString(tok) + "-"}
	b.depsEnv, b.caBundle = testimages.HostDeps()
	defer b.cleanup()

	// Every image is pulled before any timing starts.
	if err := b.pull(ctx); err != nil {
		return err
	}
	// One engine only to watch the daemon; each suite gets its own (the
	// source directory is the engine's).
	watcher, err := dockerengine.New(ctx, dockerengine.Options{})
	if err != nil {
		return err
	}
	defer watcher.Close()
	if v, err := watcher.Client().ServerVersion(ctx); err == nil {
		b.dockerVersion = v.Version
	}
	// The bench's own preparation (builds, image pushes and pulls) raises
	// the load average; let it fall before judging the machine quiet.
	settle(ctx, goruntime.NumCPU(), 5*time.Minute)
	b.started = time.Now()
	watch := watchNoise(watcher.Client(), b.ours)
	var results []result
	for _, s := range o.suites {
		r, err := b.measure(ctx, s)
		if err != nil {
			watch.Stop(goruntime.NumCPU())
			return fmt.Errorf("suite %s: %w", s.name, err)
		}
		results = append(results, r)
	}
	noisy, noiseLine := watch.Stop(goruntime.NumCPU())

	md := b.render(results, noisy, noiseLine)
	fmt.Print(md)
	if o.write != "" {
		return writeSection(o.write, md)
	}
	return nil
}

// measure takes one suite's figures.
func (b *bench) measure(ctx context.Context, s suite) (result, error) {
	r := result{suite: s, alone: map[string]float64{}, cores: float64(goruntime.NumCPU())}
	dir, removeSource, err := s.source(ctx)
	if err != nil {
		return r, err
	}
	defer removeSource()
	eng, err := dockerengine.New(ctx, dockerengine.Options{SourceDir: dir, Logf: logf})
	if err != nil {
		return r, err
	}
	defer eng.Close()
	b.mu.Lock()
	b.runIDs = append(b.runIDs, eng.RunID())
	b.mu.Unlock()
	goMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return r, err
	}
	t := target{b: b, eng: eng, suite: s, dir: dir, goMod: goMod}
	logf("suite %s (%s) in %s", s.name, cmp.Or(s.module, "testdata/fixture"), dir)

	// 1. Each cell alone, cold, then the matrix in parallel, cold.
	r.cells = b.cells()
	for _, c := range r.cells {
		rep, err := t.matrix(ctx, b.scope(), []matrix.Cell{c}, "")
		if err != nil {
			return r, err
		}
		d := rep.Cells[0].DurationSeconds
		r.alone[c.String()] = d
		r.longest = max(r.longest, d)
		r.tests = max(r.tests, rep.Cells[0].Counts.Pass+rep.Cells[0].Counts.Skip)
		logf("%s alone: %.1fs, %.1f CPU-s", c, d, rep.Cells[0].CPUSeconds)
	}
	scope := b.scope()
	start := time.Now()
	cold, err := t.matrix(ctx, scope, nil, "")
	if err != nil {
		return r, err
	}
	r.wall = time.Since(start).Seconds()
	for _, c := range cold.Cells {
		r.cpu += c.CPUSeconds
	}
	logf("matrix cold: %.1fs, %.1f CPU-s", r.wall, r.cpu)

	// 2. Unchanged re-run on the warm caches.
	start = time.Now()
	warm, err := t.matrix(ctx, scope, nil, "")
	if err != nil {
		return r, err
	}
	r.warmWall = time.Since(start).Seconds()
	r.same = sameOutcomes(cold, warm)
	logf("matrix warm: %.1fs, report identical: %v", r.warmWall, r.same)

	// 3. One cell through Parity against the same work by hand, both cold.
	one := r.cells[0]
	for i := 0; i < b.opt.runs; i++ {
		start = time.Now()
		if _, err := t.matrix(ctx, b.scope(), []matrix.Cell{one}, ""); err != nil {
			return r, err
		}
		r.viaParity = append(r.viaParity, time.Since(start).Seconds())
		d, err := t.byHand(ctx, one)
		if err != nil {
			return r, err
		}
		r.byHand = append(r.byHand, d)
		logf("%s via Parity %.1fs, by hand %.1fs", one, r.viaParity[i], d)
	}

	// 4. One emulated cell against the same cell native, all cold.
	if slices.Contains(b.opt.emulate, s.name) {
		if r.emu, err = t.emulation(ctx, r.alone); err != nil {
			return r, err
		}
	}

	// 5. New machines, and the cache directory that travels between them;
	// the other project is the fixture (or, for the fixture, toml).
	if slices.Contains(b.opt.newMachine, s.name) {
		name := "fixture"
		if s.name == name {
			name = "toml"
		}
		os2, _ := findSuite(name)
		other, done, err := b.target(ctx, os2)
		if err != nil {
			return r, err
		}
		defer done()
		if r.machine, err = t.newMachine(ctx, other); err != nil {
			return r, fmt.Errorf("new machine: %w", err)
		}
	}
	return r, nil
}

// target prepares a suite's source and engine for runs of its own.
func (b *bench) target(ctx context.Context, s suite) (target, func(), error) {
	dir, removeSource, err := s.source(ctx)
	if err != nil {
		return target{}, nil, err
	}
	eng, err := dockerengine.New(ctx, dockerengine.Options{SourceDir: dir, Logf: logf})
	if err != nil {
		removeSource()
		return target{}, nil, err
	}
	b.mu.Lock()
	b.runIDs = append(b.runIDs, eng.RunID())
	b.mu.Unlock()
	goMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		eng.Close()
		removeSource()
		return target{}, nil, err
	}
	return target{b: b, eng: eng, suite: s, dir: dir, goMod: goMod}, func() { eng.Close(); removeSource() }, nil
}

// emulation times the glibc cell of the first Go version on arm64 under
// qemu, and natively with race off. The native run with race is the
// matrix's own cell, already timed alone.
func (t target) emulation(ctx context.Context, alone map[string]float64) (*emulation, error) {
	e := &emulation{
		native:   matrix.Cell{Go: t.b.opt.gos[0], Libc: matrix.Glibc, Arch: nativeArch},
		emulated: matrix.Cell{Go: t.b.opt.gos[0], Libc: matrix.Glibc, Arch: emulatedArch},
	}
	e.nativeRace = alone[e.native.String()]
	rep, err := t.matrix(ctx, t.b.scope(), []matrix.Cell{e.native}, "off")
	if err != nil {
		return nil, err
	}
	e.nativeNoRace, e.nativeNoRaceCPU = rep.Cells[0].DurationSeconds, rep.Cells[0].CPUSeconds
	logf("%s alone, race off: %.1fs", e.native, e.nativeNoRace)

	// Race stays "auto": the policy, not the bench, turns it off.
	rep, err = t.matrix(ctx, t.b.scope(), []matrix.Cell{e.emulated}, "")
	c := rep.Cells
	// The fixture's arch package fails on arm64 by design (fused
	// multiply-add): a cell whose tests ran still times the emulation.
	if err != nil && !(len(c) == 1 && c[0].Status == "failed") {
		return nil, err
	}
	if c[0].Race {
		return nil, fmt.Errorf("%s ran with race on: the race policy should turn it off under qemu", e.emulated)
	}
	if !slices.ContainsFunc(c[0].Decisions, func(d job.Decision) bool { return d.Policy == policies.IDEmulation }) {
		return nil, fmt.Errorf("%s: no %s decision: did it run natively?", e.emulated, policies.IDEmulation)
	}
	e.emuTime, e.emuCPU, e.emuFailed = c[0].DurationSeconds, c[0].CPUSeconds, c[0].Counts.Fail
	logf("%s alone (qemu): %.1fs, %.1f CPU-s, %d failed", e.emulated, e.emuTime, e.emuCPU, e.emuFailed)
	return e, nil
}

func (b *bench) cells() []matrix.Cell {
	var cells []matrix.Cell
	for _, g := range b.opt.gos {
		for _, l := range []matrix.Libc{matrix.Glibc, matrix.Musl} {
			cells = append(cells, matrix.Cell{Go: g, Libc: l, Arch: nativeArch})
		}
	}
	return cells
}

// scope names a fresh set of cache volumes.
func (b *bench) scope() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nScope++
	return fmt.Sprintf("%s%d", b.token, b.nScope)
}

// ours says whether a container belongs to this process: created by one of
// its engines, or a by-hand run mounting one of its volumes.
func (b *bench) ours(c container.Summary) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if slices.Contains(b.runIDs, c.Labels[dockerengine.LabelRun]) {
		return true
	}
	return slices.ContainsFunc(c.Mounts, func(m container.MountPoint) bool { return strings.HasPrefix(m.Name, b.token) })
}

// cleanup removes this process's cache volumes (only its own: other runs
// share the daemon), with a fresh context since ctx may be done.
func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	eng, err := dockerengine.New(ctx, dockerengine.Options{})
	if err != nil {
		logf("cleanup: %v", err)
		return
	}
	defer eng.Close()
	vols, err := eng.Client().VolumeList(ctx, volume.ListOptions{})
	if err != nil {
		logf("cleanup: %v", err)
		return
	}
	for _, v := range vols.Volumes {
		if strings.HasPrefix(v.Name, b.token) {
			if err := eng.Client().VolumeRemove(ctx, v.Name, true); err != nil {
				logf("cleanup: %v", err)
			}
		}
	}
}

// pull fetches every platform image the bench runs, so that no timing
// includes a pull.
func (b *bench) pull(ctx context.Context) error {
	for _, im := range b.images {
		platforms := []string{"linux/" + string(nativeArch)}
		if b.opt.emulated && im.Libc == string(matrix.Glibc) && im.Go == b.opt.gos[0] {
			platforms = append(platforms, "linux/"+string(emulatedArch))
		}
		for _, p := range platforms {
			ref, ok := im.PlatformRef(p)
			if !ok {
				return fmt.Errorf("image %s has no %s", im.Ref, p)
			}
			if out, err := exec.CommandContext(ctx, "docker", "pull", "-q", "--platform", p, ref).CombinedOutput(); err != nil {
				return fmt.Errorf("docker pull %s: %v\n%s", ref, err, out)
			}
		}
	}
	return nil
}

// target is one suite on its engine.
type target struct {
	b     *bench
	eng   *dockerengine.Engine
	suite suite
	dir   string
	goMod []byte
}

// matrix runs the given cells (all native cells when nil) with the given
// caches, race "" (auto) or "off". Every cell must pass.
//
// A scope's first run is cold: the standard library seeds and setup images
// of its cells are removed first (the machine's, shared by every project:
// a seed left by an earlier run would make it warm).
func (t target) matrix(ctx context.Context, scope string, only []matrix.Cell, race string) (report.Report, error) {
	arch := []string{string(nativeArch)}
	if slices.ContainsFunc(only, func(c matrix.Cell) bool { return c.Arch == emulatedArch }) {
		arch = append(arch, string(emulatedArch))
	}
	req := pipeline.Request{Go: t.b.opt.gos, Arch: arch, Race: race, Packages: t.suite.packages, CacheScope: scope,
		CacheTrust: "trusted", DepsEnv: t.b.depsEnv, CABundle: t.b.caBundle}
	in, err := req.Inputs(t.goMod, t.b.lock, "bench lock")
	if err != nil {
		return report.Report{}, err
	}
	in.Only = only
	p, err := pipeline.MakePlan(in, t.eng.Traits())
	if err != nil {
		return report.Report{}, err
	}
	t.b.mu.Lock()
	first := !t.b.used[scope]
	if t.b.used == nil {
		t.b.used = map[string]bool{}
	}
	t.b.used[scope] = true
	t.b.mu.Unlock()
	if first {
		t.forgetSpecs(ctx, p)
	}
	rep := pipeline.Execute(ctx, p, t.eng, runner.Options{}, pipeline.Meta{Tool: "parity-bench", Options: in.Policy})
	var errs []error
	for _, c := range rep.Cells {
		if c.Status != "passed" {
			errs = append(errs, fmt.Errorf("%s: %s %s", c.Name, c.Status, c.Message))
		}
	}
	return rep, errors.Join(errs...)
}

// byHand is the same cell as one plain docker run.
func (t target) byHand(ctx context.Context, c matrix.Cell) (float64, error) {
	var img testimages.Image
	for _, im := range t.b.images {
		if im.Go == c.Go && im.Libc == string(c.Libc) {
			img = im
		}
	}
	ref, _ := img.PlatformRef(c.Platform())
	scope := t.b.scope()
	args := []string{"run", "--rm", "--read-only", "--tmpfs", "/tmp:rw,exec,size=2g", "--user", "0:0",
		"--cap-drop", "ALL", "--cap-add", "SYS_PTRACE", "--cap-add", "CHOWN", "--security-opt", "no-new-privileges",
		"-v", t.dir + ":/src:ro", "-v", scope + "-gocache:/cache/go-build", "-v", scope + "-gomod:/cache/gomod", "-w", "/src",
		"-e", "GOCACHE=/cache/go-build", "-e", "GOMODCACHE=/cache/gomod", "-e", "HOME=/tmp", "-e", "CGO_ENABLED=1",
		"-e", "GOFLAGS=-mod=readonly", "-e", "GOTOOLCHAIN=local", "-e", "TZ=UTC"}
	for k, v := range t.b.depsEnv {
		args = append(args, "-e", k+"="+v)
	}
	if t.b.caBundle != "" {
		args = append(args, "-v", t.b.caBundle+":/etc/ca.crt:ro", "-e", "SSL_CERT_FILE=/etc/ca.crt")
	}
	args = append(args, ref, "sh", "-c", "go mod download && go mod verify && go test -json -race "+strings.Join(t.suite.packages, " ")+" >/dev/null")
	start := time.Now()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("docker run by hand: %v\n%s", err, out)
	}
	return time.Since(start).Seconds(), nil
}

func sameOutcomes(a, b report.Report) bool {
	key := func(r report.Report) string {
		var rows []string
		for _, t := range r.Tests {
			for _, res := range t.Results {
				rows = append(rows, t.Package+" "+t.Test+" "+res.Cell+" "+string(res.Outcome))
			}
		}
		sort.Strings(rows)
		return strings.Join(rows, "\n")
	}
	return len(a.Tests) > 0 && key(a) == key(b)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

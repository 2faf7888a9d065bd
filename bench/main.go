// Command bench measures Parity on the Docker runtime, on this machine, with
// images built locally (internal/testimages) and the passing packages of the
// fixture module. It reports three ratios:
//
//   - parallel efficiency: the matrix's wall time against the physical
//     limit max(longest cell alone, CPU-seconds of all cells / cores), with
//     CPU-seconds from the containers' cgroup accounting (goal <= 1.10);
//   - warm re-run: wall time of an unchanged re-run / the cold run's, with an
//     identical report (goal <= 0.10);
//   - orchestration overhead: one cell through Parity / the same work as one
//     hand-written `docker run` (goal <= 1.10).
//
// Usage: go run ./bench [-write docs/benchmarks.md]
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/volume"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/internal/testimages"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// packages pass in every native cell, so go test can cache their results
// on a warm re-run (failing packages are never cached).
var packages = []string{"./plain/", "./arch/"}

func main() {
	write := flag.String("write", "", "also write the figures as Markdown to this file")
	gos := flag.String("go", "1.26.8,1.27.3", "Go versions of the matrix (x glibc, musl on amd64: 4 cells by default)")
	flag.Parse()
	if err := run(context.Background(), strings.Split(*gos, ","), *write); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	eng    *dockerengine.Engine
	lock   []byte
	goMod  []byte
	images []testimages.Image
	fix    string
	gos    []string
	// depsEnv and caBundle let the deps step reach the module proxy.
	depsEnv  map[string]string
	caBundle string
	scopes   []string
}

func run(ctx context.Context, gos []string, write string) error {
	fix, err := filepath.Abs("testdata/fixture")
	if err != nil {
		return err
	}
	reg, err := testimages.StartRegistry(ctx, "")
	if err != nil {
		return err
	}
	defer reg.Close()
	imgs, err := testimages.Build(ctx, reg, testimages.Options{GoVersions: gos, Logf: logf})
	if err != nil {
		return err
	}
	lock := matrix.Lock{Version: matrix.LockVersion}
	for _, im := range imgs {
		lock.Pins = append(lock.Pins, matrix.Pin{Go: im.Go, Libc: matrix.Libc(im.Libc), Image: im.Ref})
	}
	eng, err := dockerengine.New(ctx, dockerengine.Options{SourceDir: fix, Logf: logf})
	if err != nil {
		return err
	}
	defer eng.Close()
	goMod, err := os.ReadFile(filepath.Join(fix, "go.mod"))
	if err != nil {
		return err
	}
	b := &bench{eng: eng, lock: lock.Marshal(), goMod: goMod, images: imgs, fix: fix, gos: gos}
	b.depsEnv, b.caBundle = testimages.HostDeps()
	defer b.cleanup()

	// Every image is pulled before any timing starts.
	if _, err := b.matrix(ctx, b.scope(), nil); err != nil {
		return err
	}

	// 1. Each cell alone, cold, then the matrix in parallel, cold.
	cells := b.cells()
	alone := map[string]float64{}
	longest := 0.0
	for _, c := range cells {
		rep, err := b.matrix(ctx, b.scope(), []matrix.Cell{c})
		if err != nil {
			return err
		}
		d := rep.Cells[0].DurationSeconds
		alone[c.String()] = d
		longest = max(longest, d)
		logf("%s alone: %.1fs", c, d)
	}
	scope := b.scope()
	start := time.Now()
	cold, err := b.matrix(ctx, scope, nil)
	if err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	cpu := 0.0
	for _, c := range cold.Cells {
		cpu += c.CPUSeconds
	}
	cores := float64(goruntime.NumCPU())
	limit := max(longest, cpu/cores)
	efficiency := wall / limit

	// 2. Unchanged re-run on the warm caches.
	start = time.Now()
	warm, err := b.matrix(ctx, scope, nil)
	if err != nil {
		return err
	}
	warmWall := time.Since(start).Seconds()
	same := sameOutcomes(cold, warm)

	// 3. One cell through Parity against the same work by hand, both cold.
	one := cells[0]
	var viaParity, byHand []float64
	for i := 0; i < 3; i++ {
		start = time.Now()
		if _, err := b.matrix(ctx, b.scope(), []matrix.Cell{one}); err != nil {
			return err
		}
		viaParity = append(viaParity, time.Since(start).Seconds())
		d, err := b.byHand(ctx, one)
		if err != nil {
			return err
		}
		byHand = append(byHand, d)
	}
	overhead := median(viaParity) / median(byHand)

	host, _ := os.Hostname()
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Benchmarks\n\nMeasured %s on %s: %d cores, Docker Engine runtime, command `go run ./bench -write docs/benchmarks.md` from the repository root.\n",
		time.Now().UTC().Format("2006-01-02"), host, goruntime.NumCPU())
	fmt.Fprintf(&sb, "Workload: `testdata/fixture` packages %s with `-race`, on %d native cells (%s); images built locally by internal/testimages.\n\n", strings.Join(packages, " "), len(cells), cellNames(cells))
	fmt.Fprintf(&sb, "| measure | value | goal |\n|---|---|---|\n")
	fmt.Fprintf(&sb, "| parallel efficiency: wall / max(longest cell alone, CPU-s / cores) | %.1fs / max(%.1fs, %.1f CPU-s / %.0f) = **%.2f** | <= 1.10 |\n", wall, longest, cpu, cores, efficiency)
	fmt.Fprintf(&sb, "| warm re-run: wall / cold wall | %.1fs / %.1fs = **%.2f**, report identical: %v | <= 0.10 |\n", warmWall, wall, warmWall/wall, same)
	fmt.Fprintf(&sb, "| orchestration overhead: one cell via Parity / by hand (median of 3, cold) | %.1fs / %.1fs = **%.2f** | <= 1.10 |\n\n", median(viaParity), median(byHand), overhead)
	fmt.Fprintf(&sb, "Cells alone (cold):\n\n")
	for _, c := range cells {
		fmt.Fprintf(&sb, "- %s: %.1fs\n", c, alone[c.String()])
	}
	fmt.Fprintf(&sb, "\nThe by-hand run is one `docker run` per cell with the same image, mounts and flags (read-only root and source, exec tmpfs, fresh cache volumes) doing `go mod download && go mod verify && go test -json -race`. Parity adds the chown of the cache volumes, the setup and probe steps and a container per step.\n")
	fmt.Print(sb.String())
	if write != "" {
		return os.WriteFile(write, []byte(sb.String()), 0o644)
	}
	return nil
}

func (b *bench) cells() []matrix.Cell {
	var cells []matrix.Cell
	for _, g := range b.gos {
		for _, l := range []matrix.Libc{matrix.Glibc, matrix.Musl} {
			cells = append(cells, matrix.Cell{Go: g, Libc: l, Arch: matrix.AMD64})
		}
	}
	return cells
}

func (b *bench) scope() string {
	r := make([]byte, 4)
	rand.Read(r)
	s := "parity-bench-" + hex.EncodeToString(r)
	b.scopes = append(b.scopes, s)
	return s
}

func (b *bench) cleanup() {
	ctx := context.Background()
	vols, err := b.eng.Client().VolumeList(ctx, volume.ListOptions{})
	if err != nil {
		return
	}
	for _, v := range vols.Volumes {
		if strings.HasPrefix(v.Name, "parity-bench-") {
			b.eng.Client().VolumeRemove(ctx, v.Name, true)
		}
	}
}

// matrix runs the given cells (all when nil) with fresh or given caches.
func (b *bench) matrix(ctx context.Context, scope string, only []matrix.Cell) (report.Report, error) {
	req := pipeline.Request{Go: b.gos, Arch: []string{"amd64"}, Packages: packages, CacheScope: scope}
	in, err := req.Inputs(b.goMod, b.lock, "bench lock")
	if err != nil {
		return report.Report{}, err
	}
	in.Only = only
	in.Policy.DepsEnv, in.Policy.CABundle = b.depsEnv, b.caBundle
	p, err := pipeline.MakePlan(in, b.eng.Traits())
	if err != nil {
		return report.Report{}, err
	}
	rep := pipeline.Execute(ctx, p, b.eng, runner.Options{}, pipeline.Meta{Tool: "parity-bench", Options: in.Policy})
	for _, c := range rep.Cells {
		if c.Status != "passed" {
			return rep, fmt.Errorf("%s: %s %s", c.Name, c.Status, c.Message)
		}
	}
	return rep, nil
}

// byHand is the same cell as one plain docker run.
func (b *bench) byHand(ctx context.Context, c matrix.Cell) (float64, error) {
	var img testimages.Image
	for _, im := range b.images {
		if im.Go == c.Go && im.Libc == string(c.Libc) {
			img = im
		}
	}
	ref, _ := img.PlatformRef(c.Platform())
	scope := b.scope()
	args := []string{"run", "--rm", "--read-only", "--tmpfs", "/tmp:rw,exec,size=2g", "--user", "0:0",
		"--cap-drop", "ALL", "--cap-add", "SYS_PTRACE", "--cap-add", "CHOWN", "--security-opt", "no-new-privileges",
		"-v", b.fix + ":/src:ro", "-v", scope + "-gocache:/cache/go-build", "-v", scope + "-gomod:/cache/gomod", "-w", "/src",
		"-e", "GOCACHE=/cache/go-build", "-e", "GOMODCACHE=/cache/gomod", "-e", "HOME=/tmp", "-e", "CGO_ENABLED=1",
		"-e", "GOFLAGS=-mod=readonly", "-e", "GOTOOLCHAIN=local", "-e", "TZ=UTC"}
	for k, v := range b.depsEnv {
		args = append(args, "-e", k+"="+v)
	}
	if b.caBundle != "" {
		args = append(args, "-v", b.caBundle+":/etc/ca.crt:ro", "-e", "SSL_CERT_FILE=/etc/ca.crt")
	}
	args = append(args, ref, "sh", "-c", "go mod download && go mod verify && go test -json -race "+strings.Join(packages, " ")+" >/dev/null")
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

func cellNames(cells []matrix.Cell) string {
	var s []string
	for _, c := range cells {
		s = append(s, c.String())
	}
	return strings.Join(s, ", ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

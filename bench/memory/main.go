// Command memory measures Parity's own peak memory while one real container
// cell (Docker, glibc/amd64, images built locally by internal/testimages)
// runs a test that prints a lot: the test step's output is parsed as it
// streams, so Parity's resident memory must not grow with it (goal: under
// 200 MB for 500 MiB of output).
//
// Usage: go run ./bench/memory [-mib 500]
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/internal/testimages"
	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

const goal = 200 << 20

func main() {
	mib := flag.Int("mib", 500, "MiB the test prints")
	flag.Parse()
	if err := run(context.Background(), *mib); err != nil {
		fmt.Fprintln(os.Stderr, "bench/memory:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mib int) error {
	if goruntime.GOARCH != "amd64" {
		return fmt.Errorf("runs on an amd64 host (a native cell), not %s", goruntime.GOARCH)
	}
	reg, err := testimages.StartRegistry(ctx, "")
	if err != nil {
		return err
	}
	defer reg.Close()
	imgs, err := testimages.Build(ctx, reg, testimages.Options{GoVersions: []string{"1.26.8"}, Arches: []string{"amd64"}, Logf: logf})
	if err != nil {
		return err
	}
	lock := matrix.Lock{Version: matrix.LockVersion}
	for _, im := range imgs {
		lock.Pins = append(lock.Pins, matrix.Pin{Go: im.Go, Libc: matrix.Libc(im.Libc), Image: im.Ref})
	}
	dir, err := module(mib)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	eng, err := dockerengine.New(ctx, dockerengine.Options{SourceDir: dir, Logf: logf})
	if err != nil {
		return err
	}
	defer eng.Close()
	tok := make([]byte, 4)
	rand.Read(tok)
	scope := "parity-benchmem-" + hex.EncodeToString(tok)
	// Its cache volumes only: they are Parity's, labelled, named by scope.
	defer eng.RemoveCaches(context.Background(), scope+"-")

	req := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, Race: "off", CacheScope: scope, Timeout: "20m"}
	in, err := req.Inputs([]byte(goMod), lock.Marshal(), "bench lock")
	if err != nil {
		return err
	}
	plan, err := pipeline.MakePlan(in, eng.Traits())
	if err != nil {
		return err
	}
	// Pull first, then forget the setup's peak: only the run is measured.
	if _, err := eng.Start(ctx, plan.Specs[0]); err != nil {
		return err
	}
	goruntime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the peak RSS: %w", err)
	}
	base := status("VmRSS")
	var sampled atomic.Int64 // a second opinion, in case clear_refs is not honoured
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if r := status("VmRSS"); r > sampled.Load() {
					sampled.Store(r)
				}
			}
		}
	}()
	start := time.Now()
	results := runner.Run(ctx, eng, plan.Specs, runner.Options{})
	rep := report.Build(report.Meta{}, report.Runs{Cells: results})
	wall := time.Since(start)
	close(stop)
	peak := max(status("VmHWM"), sampled.Load())
	res := results[0]
	test, _ := res.Step(job.StepTest)
	if res.Status != job.StatusPassed || len(rep.Tests) == 0 {
		return fmt.Errorf("the cell did not pass: %s %s", res.Status, res.Message)
	}
	fmt.Printf(`## Parity's memory with a noisy cell

Measured %s on %s (%d cores), command `+"`go run ./bench/memory -mib %d`"+`: one glibc/amd64 cell (Docker Engine, race off) whose test prints %d MiB, which reaches Parity as `+"`go test -json`"+` output events on the test step's stdout, parsed as they stream.

| measure | value | goal |
|---|---|---|
| Parity's peak resident memory during the run | **%d MB** (%d MB before it) | < 200 MB |

The cell took %s; the test step's stdout kept in the result: %d bytes (head and tail).
`, time.Now().UTC().Format("2006-01-02"), hostname(), goruntime.NumCPU(), mib, mib, peak>>20, base>>20, wall.Round(time.Second), len(test.Stdout))
	if peak >= goal {
		return fmt.Errorf("peak resident memory %d MB, goal < %d MB", peak>>20, goal>>20)
	}
	return nil
}

const goMod = "module example.com/noisy\n\ngo 1.22\n"

func module(mib int) (string, error) {
	dir, err := os.MkdirTemp("", "parity-benchmem-")
	if err != nil {
		return "", err
	}
	src := fmt.Sprintf(`package noisy

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func TestNoisy(t *testing.T) {
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	defer w.Flush()
	line := strings.Repeat("x", 1023) + "\n"
	for i := 0; i < %d<<10; i++ {
		w.WriteString(line)
	}
}
`, mib)
	for name, body := range map[string]string{"go.mod": goMod, "noisy_test.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	return dir, os.Chmod(dir, 0o755) // the steps run as uid 65534
}

// status reads a size field of /proc/self/status, in bytes.
func status(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

package render

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fixtureReport is report.Build over real captures of the testjson fixture
// module (../testjson/testdata/capture.sh) arranged as a matrix with planted
// divergences: -race only on glibc/amd64 (a data race), musl-gcc and no
// bash on musl/amd64 (printf, a C stack overflow, a missing program, a
// skip), arm64 under qemu (a fused multiply-add); plus a cell that could
// not run.
func fixtureReport(t testing.TB) report.Report {
	t.Helper()
	start := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	offline := job.Decision{Policy: "network", Effect: "off", Reason: "test steps run without network"}
	cell := func(c matrix.Cell, capture string, race bool, digest string, dur time.Duration, decisions ...job.Decision) job.Result {
		return job.Result{
			Cell: c, Runtime: "docker", Status: job.StatusFailed,
			Image:          "golang:1.26.8@sha256:1111111111111111111111111111111111111111111111111111111111111111",
			PlatformDigest: "sha256:" + digest,
			Steps: []job.StepResult{
				{Name: job.StepSetup, Duration: 3 * time.Second},
				{Name: job.StepProbe, Duration: time.Second},
				{Name: job.StepDeps, Duration: 2 * time.Second},
				{Name: job.StepTest, ExitCode: 1, Duration: dur - 6*time.Second},
			},
			TestJSON:  readCapture(t, capture),
			Started:   start,
			Duration:  dur,
			Race:      race,
			Decisions: append(decisions, offline),
		}
	}
	results := []job.Result{
		cell(matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}, "cell-glibc-amd64.json", true,
			"d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d", 23500*time.Millisecond,
			job.Decision{Policy: "race", Effect: "on", Reason: "native amd64 with gcc"}),
		cell(matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}, "cell-musl-amd64.json", false,
			"e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e", 19*time.Second,
			job.Decision{Policy: "race", Effect: "off", Reason: "the alpine image has no gcc"}),
		cell(matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}, "cell-glibc-arm64.json", false,
			"a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a", 61*time.Second,
			job.Decision{Policy: "race", Effect: "off", Reason: "emulated arm64: ThreadSanitizer needs a 48-bit VMA"}),
		{
			Cell: matrix.Cell{Go: "1.22.12", Libc: matrix.Musl, Arch: matrix.AMD64}, Runtime: "docker",
			Status:    job.StatusNotRunnable,
			Message:   "toolchain too old: go.mod requires go >= 1.23",
			Image:     "golang:1.22.12-alpine@sha256:3333333333333333333333333333333333333333333333333333333333333333",
			Decisions: []job.Decision{offline},
		},
	}
	return report.Build(report.Meta{
		Tool:      report.Tool{Name: "parity", Version: "0.1.0-test"},
		CreatedAt: start.Add(2 * time.Minute),
		Source:    report.Source{Module: "example.com/fx", GoLine: "1.23", Revision: "0123456789abcdef0123456789abcdef01234567"},
		Options:   report.Options{Packages: []string{"./basic", "./platform", "./cgostack", "./racy"}, Race: "auto", Count: 1},
	}, report.Runs{Cells: results})

}

func readCapture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testjson", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update to accept); got:\n%s", path, got)
	}
}

package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// The fixture run: three cells whose test streams are real captures of the
// testjson fixture module (../testjson/testdata/capture.sh) with divergences
// planted by how each cell ran: -race only on glibc/amd64, musl-gcc on
// musl/amd64 (and no bash on PATH), arm64 under qemu. A fourth cell could
// not run.

var (
	glibcAMD64 = matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	muslAMD64  = matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	glibcARM64 = matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}
	oldMusl    = matrix.Cell{Go: "1.22.12", Libc: matrix.Musl, Arch: matrix.AMD64}
)

var fixtureStart = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func fixtureMeta() Meta {
	return Meta{
		Tool:      Tool{Name: "parity", Version: "0.1.0-test"},
		CreatedAt: fixtureStart.Add(5 * time.Minute),
		Source:    Source{Module: "example.com/fx", GoLine: "1.23", Revision: "0123456789abcdef0123456789abcdef01234567"},
		Options: Options{
			Packages: []string{"./basic", "./platform", "./cgostack", "./racy"},
			Race:     "auto",
			Count:    1,
			Timeout:  "10m0s",
		},
	}
}

func capture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testjson", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var offline = job.Decision{Policy: "network", Effect: "off", Reason: "test steps run without network"}

func steps(testExit int, testStderr string) []job.StepResult {
	return []job.StepResult{
		{Name: job.StepSetup, Duration: 3 * time.Second},
		{Name: job.StepProbe, Duration: 400 * time.Millisecond},
		{Name: job.StepDeps, Duration: 2 * time.Second},
		{Name: job.StepTest, ExitCode: testExit, Stderr: testStderr, Duration: 14 * time.Second, CPUSeconds: 20.5},
	}
}

func fixtureResults(t testing.TB) []job.Result {
	return []job.Result{
		{
			// Deliberately out of matrix order: Build sorts.
			Cell:           glibcARM64,
			Runtime:        "docker",
			Status:         job.StatusFailed,
			Image:          "golang:1.26.8-bookworm@sha256:1111111111111111111111111111111111111111111111111111111111111111",
			PlatformDigest: "sha256:a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a64a",
			Probe:          map[string]string{"goarch": "arm64", "libc": "glibc 2.36", "emulated": "qemu-user"},
			Steps:          steps(1, ""),
			TestJSON:       capture(t, "cell-glibc-arm64.json"),
			Started:        fixtureStart,
			Duration:       61 * time.Second,
			CPUSeconds:     70.2,
			Decisions: []job.Decision{
				{Policy: "race", Effect: "off", Reason: "emulated arm64: ThreadSanitizer needs a 48-bit VMA"},
				offline,
			},
		},
		{
			Cell:           glibcAMD64,
			Runtime:        "docker",
			Status:         job.StatusFailed,
			Image:          "golang:1.26.8-bookworm@sha256:1111111111111111111111111111111111111111111111111111111111111111",
			PlatformDigest: "sha256:d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d64d",
			Probe:          map[string]string{"goarch": "amd64", "libc": "glibc 2.36"},
			Steps:          steps(1, ""),
			TestJSON:       capture(t, "cell-glibc-amd64.json"),
			Started:        fixtureStart,
			Duration:       23500 * time.Millisecond,
			CPUSeconds:     31.7,
			Race:           true,
			Decisions: []job.Decision{
				{Policy: "race", Effect: "on", Reason: "native amd64 with gcc"},
				offline,
			},
		},
		{
			Cell:           muslAMD64,
			Runtime:        "docker",
			Status:         job.StatusFailed,
			Image:          "golang:1.26.8-alpine@sha256:2222222222222222222222222222222222222222222222222222222222222222",
			PlatformDigest: "sha256:e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e64e",
			Probe:          map[string]string{"goarch": "amd64", "libc": "musl 1.2.5"},
			Steps:          steps(1, ""),
			TestJSON:       capture(t, "cell-musl-amd64.json"),
			Started:        fixtureStart,
			Duration:       19 * time.Second,
			CPUSeconds:     22.9,
			Decisions: []job.Decision{
				{Policy: "race", Effect: "off", Reason: "the alpine image has no gcc"},
				offline,
			},
		},
		{
			Cell:      oldMusl,
			Runtime:   "docker",
			Status:    job.StatusNotRunnable,
			Message:   "toolchain too old: go.mod requires go >= 1.23",
			Image:     "golang:1.22.12-alpine@sha256:3333333333333333333333333333333333333333333333333333333333333333",
			Steps:     []job.StepResult{},
			Decisions: []job.Decision{offline},
		},
	}
}

func fixtureReport(t testing.TB) Report {
	t.Helper()
	return Build(fixtureMeta(), Runs{Cells: fixtureResults(t)})
}

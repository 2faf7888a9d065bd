package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command in-process and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func module(t *testing.T, goMod, lock string) string {
	t.Helper()
	dir := t.TempDir()
	if goMod != "" {
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644)
	}
	if lock != "" {
		os.WriteFile(filepath.Join(dir, "parity.lock.json"), []byte(lock), 0o644)
	}
	return dir
}

// TestBadInputIsOneLine: every bad input ends with exit 2 and one line that
// says what is wrong, before any container runtime is contacted.
func TestBadInputIsOneLine(t *testing.T) {
	good := module(t, "module example.com/m\n\ngo 1.26\n", "")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"missing go.mod": {[]string{"test", "--source", module(t, "", "")}, "no go.mod in the source"},
		"no such dir":    {[]string{"test", "--source", "/nonexistent/x"}, "not a directory"},
		"unknown libc":   {[]string{"test", "--source", good, "--libc", "bionic"}, `--libc: unknown libc "bionic"`},
		"unknown arch":   {[]string{"test", "--source", good, "--arch", "s390x"}, `--arch: unknown arch "s390x"`},
		"empty matrix":   {[]string{"test", "--source", good, "--exclude", "*/*/*"}, "the matrix is empty"},
		"unpinned image": {[]string{"test", "--source", module(t, "module m\n", `{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine3.24"}]}`)}, "is not pinned by digest: write it as golang:1.27.1-alpine3.24@sha256:<index digest>"},
		"go.mod too new": {[]string{"test", "--source", module(t, "module m\n\ngo 1.40\n", "")}, "go.mod requires go >= 1.40, newer than every cell's Go"},
		"bad deps env":   {[]string{"test", "--source", good, "--deps-env", "NOEQUALS"}, "--deps-env"},
		"bad runtime":    {[]string{"plan", "--source", good, "--runtime", "podman"}, "--runtime"},
		"unknown cmd":    {[]string{"frobnicate"}, "unknown command"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitError {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitError, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q lacks %q", stderr, tc.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Fatalf("a stack trace is no error message: %s", stderr)
			}
		})
	}
}

func TestPlanPrintsDecisions(t *testing.T) {
	code, out, stderr := runCLI(t, "plan", "--source", module(t, "module example.com/m\n\ngo 1.26\n", ""), "--runtime", "dagger", "--go", "1.27.1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"go1.27.1/musl/arm64", "golang:1.27.1-alpine3.24@sha256:4cb7ac979db5", "ptrace", "children", "cannot mount the root filesystem read-only"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderAndMergeRefuseBadFiles(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "report.json")
	os.WriteFile(bad, []byte(`{"schemaVersion": 99}`), 0o644)
	if code, _, stderr := runCLI(t, "render", bad); code != exitError || !strings.Contains(stderr, "report.json") {
		t.Fatalf("render: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "merge", bad); code != exitError || !strings.Contains(stderr, "two or more") {
		t.Fatalf("merge: exit %d %q", code, stderr)
	}
}

func TestPinsCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "parity.lock.json")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	digest := "sha256:" + strings.Repeat("a", 64)
	full := write(`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine3.24@` + digest + `"},{"go":"1.27.1","libc":"glibc","image":"golang:1.27.1-trixie@` + digest + `"}]}`)
	if code, out, stderr := runCLI(t, "pins", "check", "--lock", full); code != exitOK || !strings.Contains(out, "2 pins") {
		t.Fatalf("complete lock: exit %d %q %q", code, out, stderr)
	}
	for name, tc := range map[string]struct{ lock, want string }{
		"missing pair": {`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine3.24@` + digest + `"}]}`, "no pin for go1.27.1/glibc"},
		"unpinned":     {`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine3.24"},{"go":"1.27.1","libc":"glibc","image":"golang:1.27.1-trixie@` + digest + `"}]}`, "not pinned by digest"},
		"empty":        {`{"version":1,"pins":[]}`, "has no pins"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "pins", "check", "--lock", write(tc.lock))
			if code != exitError || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, stderr, tc.want)
			}
		})
	}
}

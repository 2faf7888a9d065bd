package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parity-ci/parity/report"
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
		// A package, so the source checks pass.
		os.WriteFile(filepath.Join(dir, "m.go"), []byte("package m\n"), 0o644)
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
		"unknown arch":   {[]string{"test", "--source", good, "--arch", "mips64"}, `--arch: unknown arch "mips64"`},
		"empty matrix":   {[]string{"test", "--source", good, "--exclude", "*/*/*"}, "the matrix is empty"},
		"unpinned image": {[]string{"test", "--source", module(t, "module m\n", `{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine3.24"}]}`)}, "is not pinned by digest: write it as golang:1.27.1-alpine3.24@sha256:<index digest>"},
		"go.mod too new": {[]string{"test", "--source", module(t, "module m\n\ngo 1.40\n", "")}, "go.mod requires go >= 1.40, newer than every cell's Go"},
		"bad deps env":   {[]string{"test", "--source", good, "--deps-env", "NOEQUALS"}, "--deps-env"},
		"bad runtime":    {[]string{"plan", "--source", good, "--runtime", "podman"}, "--runtime"},
		"unknown cmd":    {[]string{"frobnicate"}, "unknown command \"frobnicate\" (run 'parity help' for the commands)"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitError {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitError, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q lacks %q", stderr, tc.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Fatalf("not one line:\n%s", stderr)
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
	if code, _, stderr := runCLI(t, "merge", bad); code != exitError || !strings.Contains(stderr, "report.json: reading report: schema version 99") {
		t.Fatalf("merge: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "merge"); code != exitError || !strings.Contains(stderr, "give report.json files") {
		t.Fatalf("merge: exit %d %q", code, stderr)
	}
}

// A refused merge says why once and names the files behind "report N".
func TestMergeRefusalNamesFiles(t *testing.T) {
	dir := t.TempDir()
	rep := filepath.Join(dir, "glibc.json")
	os.WriteFile(rep, []byte(`{"schemaVersion":2,"tool":{"name":"parity","version":"t"},"source":{"module":"example.com/m","goLine":"1.26"},`+
		`"options":{"packages":["./..."],"allowDivergence":false},"cells":[{"cell":{"go":"1.26.8","libc":"glibc","arch":"amd64"},"name":"go1.26.8/glibc/amd64","status":"passed"}],"tests":[]}`), 0o644)
	code, _, stderr := runCLI(t, "merge", "-o", filepath.Join(dir, "out"), rep, rep)
	want := "parity: merge: cell go1.26.8/glibc/amd64 is in report 1 and report 2: merge reports of disjoint cells (1: " + rep + ", 2: " + rep + ")\n"
	if code != exitError || stderr != want {
		t.Fatalf("exit %d\n got %q\nwant %q", code, stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a refused merge left its output directory behind")
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

// Every flag is checked before any runtime is contacted: one line naming
// the flag, and no usage dump.
func TestFlagsCheckedBeforeRun(t *testing.T) {
	good := module(t, "module example.com/m\n\ngo 1.26\n", "")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"run regexp":    {[]string{"--run", "Test("}, `--run "Test("`},
		"skip regexp":   {[]string{"--skip", "(x"}, `--skip "(x"`},
		"flag package":  {[]string{"--packages", "-exec=/bin/false"}, `--packages "-exec=/bin/false"`},
		"shuffle":       {[]string{"--shuffle", "sometimes"}, `--shuffle "sometimes"`},
		"cache scope":   {[]string{"--cache-scope", "a/b"}, `--cache-scope "a/b"`},
		"mirror":        {[]string{"--registry-mirror", "https://mirror.example"}, "--registry-mirror"},
		"parallel 0":    {[]string{"--parallel", "0"}, "--parallel 0"},
		"tags":          {[]string{"--tags", "a;b"}, `--tags "a;b"`},
		"unknown flag":  {[]string{"--frobnicate"}, "flag provided but not defined: -frobnicate (run 'parity test -h')"},
		"bad int":       {[]string{"--count", "x"}, "-count"},
		"unwritable js": {[]string{"--json", "/proc/parity-nope/report.json"}, "--json"},
		"out is a file": {[]string{"--out", filepath.Join(good, "go.mod")}, "--out"},
		"junit is dir":  {[]string{"--junit", good}, "--junit"},
	} {
		t.Run(name, func(t *testing.T) {
			// No daemon answers here: a check that came after connecting
			// would fail with Docker's error instead.
			t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
			code, _, stderr := runCLI(t, append([]string{"test", "--source", good, "--runtime", "docker", "--no-progress"}, tc.args...)...)
			if code != exitError || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %q", code, stderr, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 0 {
				t.Fatalf("%d lines, want one:\n%s", n+1, stderr)
			}
		})
	}
}

// -h prints the flags (to stdout, exit 0) with value names that make sense.
func TestHelpNamesValues(t *testing.T) {
	code, out, stderr := runCLI(t, "test", "-h")
	if code != exitOK || !strings.Contains(out, "-runtime string") || strings.Contains(out, "-runtime dagger") {
		t.Fatalf("exit %d, stderr %q, usage:\n%s", code, stderr, out)
	}
	for _, want := range []string{"-short", "-tags", "-skip", "-failfast"} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %s", want)
		}
	}
}

// The lock parser is the same for `parity test` and `parity pins check`:
// trailing content (a merge conflict) is refused by both.
func TestLockWithTrailingContentRefused(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	one := `{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine3.24@` + digest + `"},{"go":"1.27.1","libc":"glibc","image":"golang:1.27.1-trixie@` + digest + `"}]}`
	dir := module(t, "module example.com/m\n\ngo 1.26\n", one+"\n<<<<<<< HEAD\n"+one)
	for _, args := range [][]string{
		{"plan", "--source", dir, "--runtime", "dagger"},
		{"pins", "check", "--lock", filepath.Join(dir, "parity.lock.json")},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitError || !strings.Contains(stderr, "after the lock") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// Many bad pins are one line with a count.
func TestBadPinsOneLine(t *testing.T) {
	dir := module(t, "module example.com/m\n", `{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:a"},{"go":"1.27.1","libc":"glibc","image":"golang:b"}]}`)
	for _, args := range [][]string{
		{"plan", "--source", dir, "--runtime", "dagger"},
		{"pins", "check", "--lock", filepath.Join(dir, "parity.lock.json")},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitError || !strings.Contains(stderr, "2 bad pins") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// The default cache scope is the project's: a git checkout is known by its
// root commits, wherever it is cloned; anything else by its absolute path.
func TestSourceIdentity(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	plain := t.TempDir()
	if got := sourceIdentity(plain); got != "path:"+plain {
		t.Fatalf("plain dir: %q", got)
	}
	repo := t.TempDir()
	gitRun := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun(repo, "init", "-q")
	gitRun(repo, "commit", "-q", "--allow-empty", "-m", "root")
	id := sourceIdentity(repo)
	if !strings.HasPrefix(id, "git:") {
		t.Fatalf("git checkout: %q", id)
	}
	gitRun(repo, "commit", "-q", "--allow-empty", "-m", "second")
	clone := filepath.Join(t.TempDir(), "clone")
	gitRun(repo, "clone", "-q", repo, clone)
	os.MkdirAll(filepath.Join(repo, "sub"), 0o755)
	for _, dir := range []string{repo, clone, filepath.Join(repo, "sub")} {
		if got := sourceIdentity(dir); got != id {
			t.Errorf("%s: %q, want %q", dir, got, id)
		}
	}
}

// A report file that cannot be written after the run still leaves the
// summary on the terminal, and the failure is an error.
func TestSummaryPrintedWhenFilesFail(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "")
	rep := report.Build(report.Meta{Source: report.Source{Module: "example.com/m"}}, report.Runs{Cells: nil})
	var out, errb bytes.Buffer
	err := deliver(&runFlags{jsonOut: "/proc/parity-nope/report.json"}, rep, &out, &errb)
	if err == nil || out.Len() == 0 {
		t.Fatalf("err %v, summary %q", err, out.String())
	}
}

// TestAbandonedTempFilesAreRemoved: a run killed while writing its report
// (SIGKILL: no clean-up) leaves a .parity-* file in --out; the next write
// there removes it, and nothing that is not Parity's own or still fresh.
func TestAbandonedTempFilesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for _, n := range []string{".parity-123456", ".parity-check-42", ".parity-notes", "keep.json"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".parity-777"), nil, 0o644); err != nil { // another run's, being written now
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "report.json"), func(w io.Writer) error { _, err := io.WriteString(w, "{}"); return err }); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if !slices.Equal(left, []string{".parity-777", ".parity-notes", "keep.json", "report.json"}) {
		t.Fatalf("left %v", left)
	}
}

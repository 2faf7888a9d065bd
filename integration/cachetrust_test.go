package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// poisonModule's tests do what a pull request's tests could: TestPlant
// writes into every cache directory the cell hands it (the build cache, the
// module cache), and TestCleanCache fails when it finds what TestPlant
// planted, i.e. when a later run reads what an earlier run's test wrote.
var poisonModule = map[string]string{
	"go.mod": "module example.com/poison\n\ngo 1.22\n",
	"poison/poison_test.go": `package poison

import (
	"os"
	"path/filepath"
	"testing"
)

const marker = "parity-poison-planted-by-a-test"

func dirs() []string { return []string{os.Getenv("GOCACHE"), os.Getenv("GOMODCACHE")} }

func TestCleanCache(t *testing.T) {
	for _, d := range dirs() {
		for _, p := range []string{filepath.Join(d, marker), filepath.Join(d, "00", marker)} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s: planted by an earlier run's test", p)
			}
		}
	}
}

func TestPlant(t *testing.T) {
	for _, d := range dirs() {
		for _, p := range []string{filepath.Join(d, marker), filepath.Join(d, "00", marker)} {
			if err := os.WriteFile(p, []byte("poison"), 0o644); err != nil {
				t.Logf("cannot plant %s: %v", p, err)
				continue
			}
			t.Logf("planted %s", p)
		}
	}
}
`,
}

// TestUntrustedRefCannotPoisonTheCache: on one machine, with one cache
// scope (what the default scope gives every branch and fork of a project),
// a run for an untrusted ref (a pull request) whose test writes into the
// caches it is given cannot change what the next run of the default branch
// reads; nor can the default branch's own tests write what a later pull
// request reads. Each run is one small cell, race and cgo off.
func TestUntrustedRefCannotPoisonTheCache(t *testing.T) {
	h := env(t)
	dir := moduleDir(t, poisonModule)
	poison(t, h, dir, h.engine(t, dir))
}

// TestCopiedViewsCannotBePoisoned: the same where the daemon cannot mount
// an overlay, and every view is a copy of the cache (the fallback).
func TestCopiedViewsCannotBePoisoned(t *testing.T) {
	h := env(t)
	dir := moduleDir(t, poisonModule)
	eng, err := dockerengine.New(context.Background(), dockerengine.Options{SourceDir: dir, Logf: t.Logf, CopyViews: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	poison(t, h, dir, eng)
}

func poison(t *testing.T, h *harness, dir string, eng *dockerengine.Engine) {
	s := scope(t, eng)
	run := func(name, trust, tests string) report.Report {
		t.Helper()
		req := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, Race: "off", Cgo: "off",
			CacheScope: s, CacheTrust: trust, Run: tests}
		start := time.Now()
		rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
		keep(t, rep)
		t.Logf("%s (%s, -run %s): %s", name, trust, tests, time.Since(start).Round(time.Second))
		if c := rep.Cells[0]; !c.RanTests() {
			t.Fatalf("%s: the cell did not run its tests: %s %s", name, c.Status, c.Message)
		}
		return rep
	}
	result := func(rep report.Report, test string) report.Result {
		for _, r := range rep.Tests {
			if r.Package == "example.com/poison/poison" && r.Test == test {
				if res, ok := r.Result(glibcAMD64); ok {
					return res
				}
			}
		}
		return report.Result{Outcome: testjson.NotRun}
	}
	clean := func(rep report.Report) testjson.Outcome { return result(rep, "TestCleanCache").Outcome }
	// The test could write into the build cache it was given (its own
	// throwaway view, once the caches are views).
	planted := func(name string, rep report.Report) {
		t.Helper()
		if out := result(rep, "TestPlant").Output; !strings.Contains(out, "planted /cache/go-build/") {
			t.Errorf("%s: TestPlant planted nothing in the build cache: %q", name, out)
		}
	}

	planted("pull request", run("pull request", "untrusted", "^TestPlant$"))
	main := run("default branch", "trusted", "^(TestCleanCache|TestPlant)$")
	planted("default branch", main)
	if got := clean(main); got != testjson.Pass {
		t.Errorf("the default branch's run after a pull request's: TestCleanCache %s, want pass: the pull request's test wrote what the default branch reads", got)
	}
	if got := clean(run("next pull request", "untrusted", "^TestCleanCache$")); got != testjson.Pass {
		t.Errorf("a pull request's run after the default branch's: TestCleanCache %s, want pass: a test of the default branch wrote what a later run reads", got)
	}
}

// moduleDir writes a module where the cells' uid (65534) can read it.
func moduleDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return dir
}

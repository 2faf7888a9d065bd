package policies

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

func mountAt(t *testing.T, s job.Spec, target string) job.Mount {
	t.Helper()
	for _, m := range s.Mounts {
		if m.Target == target {
			return m
		}
	}
	t.Fatalf("no mount at %s", target)
	return job.Mount{}
}

// TestTestsNeverWriteACache: whatever the runtime and the ref's trust, the
// test step never writes a cache volume: it sees a throwaway view. In a
// trusted run on Docker the deps step writes the module cache and the
// build step (which runs none of the module's code) the build cache; in an
// untrusted one no step writes either.
func TestTestsNeverWriteACache(t *testing.T) {
	for _, c := range []struct {
		name   string
		rt     Traits
		trust  Trust
		writes map[string][]job.StepName // cache -> the steps that write the volume itself
	}{
		{"docker trusted", docker, Trusted, map[string][]job.StepName{GoCacheDir: {job.StepBuild}, ModCacheDir: {job.StepDeps}, StdDir: {job.StepBuild}}},
		{"docker default", docker, "", map[string][]job.StepName{GoCacheDir: {job.StepBuild}, ModCacheDir: {job.StepDeps}, StdDir: {job.StepBuild}}},
		{"docker untrusted", docker, Untrusted, map[string][]job.StepName{GoCacheDir: nil, ModCacheDir: nil, StdDir: {job.StepBuild}}},
		// Dagger cannot mount a cache read-only: every step but the test
		// step writes (none of them runs the module's code).
		{"dagger untrusted", dagger, Untrusted, map[string][]job.StepName{GoCacheDir: {job.StepBuild}, ModCacheDir: {job.StepDeps, job.StepBuild, job.StepCompile}, StdDir: {job.StepBuild}}},
	} {
		s := plan(t, glibcAMD64, Options{CacheTrust: c.trust, Compile: []matrix.Target{{GOOS: "windows", GOARCH: "amd64"}}}, c.rt)
		for target, want := range c.writes {
			m := mountAt(t, s, target)
			var got []job.StepName
			for _, st := range s.Steps {
				if m.In(st.Name) && !m.ReadOnlyIn(st.Name) && !m.ViewIn(st.Name) {
					got = append(got, st.Name)
				}
			}
			if target != ModCacheDir && slices.Contains(got, job.StepCompile) {
				// Compiles for other targets and runs nothing: it may write.
				got = slices.DeleteFunc(got, func(n job.StepName) bool { return n == job.StepCompile })
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s written by %v, want %v", c.name, target, got, want)
			}
			if m.In(job.StepTest) && !m.ViewIn(job.StepTest) && !m.ReadOnlyIn(job.StepTest) {
				t.Errorf("%s: the test step can write %s itself", c.name, m.Name)
			}
		}
		if m := mountAt(t, s, StdDir); m.In(job.StepTest) || m.In(job.StepDeps) {
			t.Errorf("%s: the seed is the build step's alone: %v", c.name, m.Steps)
		}
	}
	if d := decision(t, plan(t, glibcAMD64, Options{CacheTrust: Untrusted, TrustReason: "a pull_request event in GitHub Actions"}, docker), IDCacheTrust); d.Effect != "untrusted" || !strings.HasPrefix(d.Reason, "a pull_request event") {
		t.Errorf("untrusted decision %+v", d)
	}
	if d := decision(t, plan(t, glibcAMD64, Options{CacheTrust: Untrusted}, dagger), IDCacheTrust); d.Effect != "not-applied" {
		t.Errorf("dagger trust decision %+v", d)
	}
	if d := decision(t, plan(t, glibcAMD64, Options{}, docker), IDTestView); d.Effect != "copy-on-write" {
		t.Errorf("test view decision %+v", d)
	}
}

// TestCacheIdentities: the module cache is the project's, shared by its
// cells; the build cache is the cell's; the standard library seed is the
// machine's, per image (by digest: a mirror's copy is the same image) and
// the flags that change how it compiles.
func TestCacheIdentities(t *testing.T) {
	o := Options{CacheScope: "parity-p1"}
	g, m := plan(t, glibcAMD64, o, docker), plan(t, muslAMD64, o, docker)
	if mountAt(t, g, ModCacheDir).Name != "parity-p1-gomod" || mountAt(t, m, ModCacheDir).Name != "parity-p1-gomod" {
		t.Errorf("module caches %s, %s", mountAt(t, g, ModCacheDir).Name, mountAt(t, m, ModCacheDir).Name)
	}
	if mountAt(t, g, GoCacheDir).Name == mountAt(t, m, GoCacheDir).Name {
		t.Error("two cells share a build cache")
	}
	other := plan(t, glibcAMD64, Options{CacheScope: "parity-p2"}, docker)
	if mountAt(t, other, StdDir).Name != mountAt(t, g, StdDir).Name {
		t.Error("two projects do not share the seed of one image")
	}
	if mountAt(t, other, GoCacheDir).Name == mountAt(t, g, GoCacheDir).Name || mountAt(t, other, ModCacheDir).Name == mountAt(t, g, ModCacheDir).Name {
		t.Error("two projects share a cache")
	}
	seed := StdSeedName("golang:1.27.1@sha256:aaa", "linux/amd64", true, true, nil)
	if !strings.HasPrefix(seed, StdSeedPrefix) || seed != StdSeedName("mirror.example/library/golang:1.27.1@sha256:aaa", "linux/amd64", true, true, nil) {
		t.Errorf("seed %s: a mirror's copy of the image must share it", seed)
	}
	for _, s := range []string{
		StdSeedName("golang:1.27.1@sha256:bbb", "linux/amd64", true, true, nil),
		StdSeedName("golang:1.27.1@sha256:aaa", "linux/arm64", true, true, nil),
		StdSeedName("golang:1.27.1@sha256:aaa", "linux/amd64", false, true, nil),
		StdSeedName("golang:1.27.1@sha256:aaa", "linux/amd64", true, false, nil),
		StdSeedName("golang:1.27.1@sha256:aaa", "linux/amd64", true, true, []string{"netgo"}),
	} {
		if s == seed {
			t.Errorf("%s: another image or flags share a seed", s)
		}
	}
}

// TestBuildScript runs the build step's script with this machine's go on
// two modules and one that does not build: it fills the seed once, copies
// it into each build cache, compiles the test packages, and never runs a
// test binary (TestMain would leave a file).
//
// It compiles the standard library packages of testing with an empty cache:
// about 25 s on 2 cores; -short skips it.
func TestBuildScript(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles part of the standard library from an empty cache (-short)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	ran := filepath.Join(t.TempDir(), "a-test-ran")
	module := func(name, extra string) string {
		dir := t.TempDir()
		files := map[string]string{
			"go.mod":         "module example.com/" + name + "\n\ngo 1.22\n",
			"p/p.go":         "package p\n\nimport \"strings\"\n\nfunc Up(s string) string { return strings.ToUpper(s) }\n" + extra,
			"p/main_test.go": "package p\n\nimport (\"os\"; \"testing\")\n\nfunc TestMain(m *testing.M) { os.WriteFile(" + `"` + ran + `"` + ", nil, 0o644); os.Exit(m.Run()) }\n",
		}
		for n, body := range files {
			p := filepath.Join(dir, n)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	std := t.TempDir()
	build := func(dir, gocache string) (string, int) {
		t.Helper()
		cmd := exec.Command("sh", "-c", BuildScript, "sh", "--", "./...")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOCACHE="+gocache, "PARITY_STD="+std, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOPROXY=off", "CGO_ENABLED=0",
			"PATH="+filepath.Dir(goBin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	seeded := func(dir string) []string {
		m, _ := filepath.Glob(filepath.Join(dir, StdSeedMarker+"*"))
		return m
	}

	first := t.TempDir()
	if out, code := build(module("a", ""), first); code != 0 || len(seeded(std)) != 1 || len(seeded(first)) != 1 {
		t.Fatalf("first module: exit %d, seed %v, build cache %v:\n%s", code, seeded(std), seeded(first), out)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the build step ran a test binary")
	}
	// A second project with the same standard library packages finds them
	// in the seed: the seed is not written again (read-only here).
	if err := os.Chmod(std, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(std, 0o755)
	second := t.TempDir()
	if out, code := build(module("b", ""), second); code != 0 || len(seeded(second)) != 1 || strings.Contains(out, "could not be built") {
		t.Fatalf("second module: exit %d, build cache %v:\n%s", code, seeded(second), out)
	}
	// A package that does not build: go test's 1, for the test step to report.
	if out, code := build(module("c", "var broken int = \"x\"\n"), t.TempDir()); code != 1 || !strings.Contains(out, "cannot use") {
		t.Fatalf("broken module: exit %d:\n%s", code, out)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the build step ran a test binary")
	}
}

package integration

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parity-ci/parity/cachedir"
	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// TestCacheDirTravels: a trusted run saves its caches into a directory;
// on "another machine" (another cache scope, the first one's volumes
// removed) the directory restores the module cache, the cell's build cache
// and the standard library seed, and the run passes. Restoring never
// trusts the modules: a module file changed in the directory fails the
// cell with go mod verify's own message. One small cell, race and cgo off,
// with a build tag of its own so its seed is this test's alone.
func TestCacheDirTravels(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	tag := "paritytest" + hex.EncodeToString(b)
	req := func(scope string) pipeline.Request {
		return pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, Race: "off", Cgo: "off",
			Packages: []string{"./plain/"}, Tags: []string{tag}, CacheScope: scope, CacheTrust: "trusted"}
	}
	removeAll := func(specs []job.Spec) {
		for _, e := range cachedir.Volumes(specs) {
			eng.Client().VolumeRemove(ctx, e.Volume, true)
		}
	}
	dir := t.TempDir()

	first := scope(t, eng)
	rep, plan := h.run(t, ctx, eng, req(first), runner.Options{})
	t.Cleanup(func() { removeAll(plan.Specs) })
	if c := rep.Cells[0]; c.Status != "passed" {
		t.Fatalf("first run: %s %s", c.Status, c.Message)
	}
	coldBuild := buildCPU(rep)
	saved, err := eng.SaveCaches(ctx, dir, "test", "", plan.Specs)
	if err != nil || saved.Entries != 3 {
		t.Fatalf("save: %+v %v", saved, err)
	}
	t.Logf("saved %s", saved)
	removeAll(plan.Specs) // the first machine is gone

	second := scope(t, eng)
	in := inputsFor(t, h, req(second))
	p2, err := pipeline.MakePlan(in, eng.Traits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeAll(p2.Specs) })
	restored, err := eng.RestoreCaches(ctx, dir, p2.Specs)
	if err != nil || restored.Entries != 3 {
		t.Fatalf("restore: %+v %v", restored, err)
	}
	t.Logf("restored %s", restored)
	rep, _ = h.run(t, ctx, eng, req(second), runner.Options{})
	if c := rep.Cells[0]; c.Status != "passed" {
		t.Fatalf("run on the restored caches: %s %s", c.Status, c.Message)
	}
	// On the restored caches nothing is compiled again (go links the test
	// binary and vets from its cache): the build step's CPU time, from the
	// container's cgroup, says so.
	t.Logf("build step: %.1f CPU-s cold, %.1f CPU-s on the restored caches", coldBuild, buildCPU(rep))
	if warm := buildCPU(rep); warm > coldBuild/2 {
		t.Errorf("the build step on restored caches took %.1f CPU-s, %.1f cold: the caches were not used", warm, coldBuild)
	}

	// A third machine, from a directory whose module cache was changed.
	tamper(t, filepath.Join(dir, "modules.tar"), "/errgroup/errgroup.go")
	third := scope(t, eng)
	p3, err := pipeline.MakePlan(inputsFor(t, h, req(third)), eng.Traits())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeAll(p3.Specs) })
	if _, err := eng.RestoreCaches(ctx, dir, p3.Specs); err != nil {
		t.Fatal(err)
	}
	rep, _ = h.run(t, ctx, eng, req(third), runner.Options{})
	if c := rep.Cells[0]; c.Status != job.StatusDepsFailed || !strings.Contains(c.Message, "dir has been modified") {
		t.Fatalf("a tampered module cache restored: %s %q", c.Status, c.Message)
	}
}

func buildCPU(rep report.Report) float64 {
	for _, s := range rep.Cells[0].Steps {
		if s.Name == job.StepBuild {
			return s.CPUSeconds
		}
	}
	return 0
}

// inputsFor is runIn's planning half, for the fixture.
func inputsFor(t *testing.T, h *harness, req pipeline.Request) pipeline.Inputs {
	t.Helper()
	goMod, err := os.ReadFile(filepath.Join(h.fixDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := req.Inputs(goMod, h.lock, "test lock")
	if err != nil {
		t.Fatal(err)
	}
	in.Policy = depsPolicy(in.Policy)
	return in
}

// tamper appends a line to the file of the tar whose name ends with suffix.
func tamper(t *testing.T, file, suffix string) {
	t.Helper()
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(file + ".new")
	if err != nil {
		t.Fatal(err)
	}
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	done := false
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(hd.Name, suffix) {
			body = append(body, []byte("\n// tampered\n")...)
			hd.Size = int64(len(body))
			done = true
		}
		if err := tw.WriteHeader(hd); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	out.Close()
	if !done {
		t.Fatalf("no %s in %s", suffix, file)
	}
	if err := os.Rename(file+".new", file); err != nil {
		t.Fatal(err)
	}
}

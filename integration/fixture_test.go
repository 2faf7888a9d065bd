package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

const (
	glibcAMD64 = "go1.26.8/glibc/amd64"
	muslAMD64  = "go1.26.8/musl/amd64"
	glibcARM64 = "go1.26.8/glibc/arm64"
	mod        = "example.com/fixture/"
)

// keep writes the report to $PARITY_TEST_REPORT_DIR, when set, for a look
// at what a real run renders.
func keep(t *testing.T, rep report.Report) {
	dir := os.Getenv("PARITY_TEST_REPORT_DIR")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, t.Name()+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := rep.WriteJSON(f); err != nil {
		t.Fatal(err)
	}
}

func row(t *testing.T, rep report.Report, pkg, test string) report.TestRow {
	t.Helper()
	for _, r := range rep.Tests {
		if r.Package == mod+pkg && r.Test == test {
			return r
		}
	}
	t.Fatalf("no row for %s %s", pkg, test)
	return report.TestRow{}
}

func outcome(t *testing.T, rep report.Report, pkg, test, cell string) testjson.Outcome {
	t.Helper()
	r, ok := row(t, rep, pkg, test).Result(cell)
	if !ok {
		return testjson.NotRun
	}
	return r.Outcome
}

func cellOf(t *testing.T, rep report.Report, name string) report.Cell {
	t.Helper()
	for _, c := range rep.Cells {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cell %s", name)
	return report.Cell{}
}

// TestFixtureMatrix runs the fixture on glibc/amd64, musl/amd64 (a Debian
// image whose cgo links musl through musl-gcc, with bash removed: an Alpine
// stand-in, since Alpine cannot be fetched here) and glibc/arm64 under qemu,
// and checks the aggregated report against testdata/fixture/README.md.
func TestFixtureMatrix(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	cells := []string{glibcAMD64, muslAMD64}
	req := pipeline.Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Timeout: "60s"}
	if h.arm64 {
		cells = append(cells, glibcARM64)
		req.Arch = nil
		req.Exclude = []string{"*/musl/arm64"} // no musl arm64 stand-in image
	}
	req.CacheScope = scope(t, eng)
	rep, plan := h.run(t, context.Background(), eng, req, runner.Options{})
	keep(t, rep)

	// No cell result lost; every cell ran its tests to the end.
	if len(rep.Cells) != len(cells) {
		t.Fatalf("%d cells in the report, want %d", len(rep.Cells), len(cells))
	}
	for _, name := range cells {
		c := cellOf(t, rep, name)
		if c.Status != job.StatusFailed {
			t.Fatalf("%s: status %s (%s); steps %+v", name, c.Status, c.Message, c.Steps)
		}
		wantDigest := h.image(string(c.Cell.Libc)).Platforms[c.Cell.Platform()]
		if c.PlatformDigest != wantDigest {
			t.Errorf("%s ran %s, the pin selects %s", name, c.PlatformDigest, wantDigest)
		}
		// The probe proves what the cell is and how it is confined.
		if c.Probe["cc_libc"] != string(c.Cell.Libc) || c.Probe["go_version"] != "go1.26.8" {
			t.Errorf("%s probe: %v", name, c.Probe)
		}
		if c.Probe["CapBnd"] != "0000000000080000" || c.Probe["NoNewPrivs"] != "1" || c.Probe["rootfs"] != "readonly" || c.Probe["uid"] != "65534" {
			t.Errorf("%s: want SYS_PTRACE alone in the bounding set, no-new-privileges, read-only root, uid 65534; probe %v", name, c.Probe)
		}
		// What the decisions claim is what the probe measured.
		for _, sp := range plan.Specs {
			if sp.Cell.String() != name {
				continue
			}
			for k, want := range policies.Claims(sp) {
				if c.Probe[k] != want {
					t.Errorf("%s: the decisions claim %s=%s, the probe measured %q", name, k, want, c.Probe[k])
				}
			}
		}
		if c.CPUSeconds <= 0 {
			t.Errorf("%s: no CPU seconds from cgroup accounting", name)
		}
	}
	if !cellOf(t, rep, glibcAMD64).Race || !cellOf(t, rep, muslAMD64).Race {
		t.Error("race must be on for native amd64 cells")
	}
	// Real go test output never looks forged (the parser's checks have no
	// false positives on the fixture's crashes, panics and timeouts).
	for _, c := range rep.Cells {
		if len(c.Tampered) > 0 {
			t.Errorf("%s: honest output reported as tampered: %+v", c.Name, c.Tampered)
		}
	}

	// Planted divergences, each on its axis with its likely cause.
	type want struct {
		pkg, test, axis, cause string
		outcomes               map[string]testjson.Outcome
	}
	wants := []want{
		{"libc", "TestPrintfNullPointer", "libc", "", map[string]testjson.Outcome{glibcAMD64: testjson.Pass, muslAMD64: testjson.Fail}},
		{"image", "TestRunsBashScript", "libc", "missing-executable", map[string]testjson.Outcome{glibcAMD64: testjson.Pass, muslAMD64: testjson.Fail}},
	}
	if h.arm64 {
		wants[0].outcomes[glibcARM64] = testjson.Pass
		wants[1].outcomes[glibcARM64] = testjson.Pass
		wants = append(wants,
			want{"arch", "TestFusedMultiplyAdd", "arch", "float-fma", map[string]testjson.Outcome{glibcAMD64: testjson.Pass, muslAMD64: testjson.Pass, glibcARM64: testjson.Fail}},
		)
	}
	// A data race fails only where -race is on: a failure with a race
	// cause, not a divergence from the cells without -race.
	if r := row(t, rep, "race", "TestRacyCounter"); r.Divergent || !r.Failed || r.Cause == nil || r.Cause.ID != "race" {
		t.Errorf("race.TestRacyCounter: divergent=%v failed=%v cause=%+v, want a race failure", r.Divergent, r.Failed, r.Cause)
	}
	for _, w := range wants {
		for cell, o := range w.outcomes {
			if got := outcome(t, rep, w.pkg, w.test, cell); got != o {
				t.Errorf("%s.%s in %s: %s, want %s", w.pkg, w.test, cell, got, o)
			}
		}
		var d *report.Divergence
		for i := range rep.Divergences {
			if rep.Divergences[i].Package == mod+w.pkg && rep.Divergences[i].Test == w.test {
				d = &rep.Divergences[i]
			}
		}
		if d == nil {
			t.Errorf("%s.%s: no divergence reported", w.pkg, w.test)
			continue
		}
		if !slices.Contains(d.Axes, w.axis) {
			t.Errorf("%s.%s: axes %v, want %s", w.pkg, w.test, d.Axes, w.axis)
		}
		if w.cause != "" && d.Cause.ID != w.cause {
			t.Errorf("%s.%s: cause %s (%s), want %s", w.pkg, w.test, d.Cause.ID, d.Cause.Text, w.cause)
		}
	}
	// Nothing else diverges: same failure everywhere is a failure, not a divergence.
	if len(rep.Divergences) != len(wants) {
		var got []string
		for _, d := range rep.Divergences {
			got = append(got, d.Package+"."+d.Test)
		}
		t.Errorf("divergences %v, want exactly %d", got, len(wants))
	}

	for _, cell := range cells {
		// Writes beside the sources are refused, t.TempDir works.
		if o := outcome(t, rep, "sandbox", "TestWriteBesideSources", cell); o != testjson.Fail {
			t.Errorf("%s: write beside sources: %s", cell, o)
		} else if r, _ := row(t, rep, "sandbox", "TestWriteBesideSources").Result(cell); !strings.Contains(r.Output, "read-only file system") {
			t.Errorf("%s: write refused without 'read-only file system': %s", cell, r.Output)
		}
		if o := outcome(t, rep, "sandbox", "TestWritesTempDir", cell); o != testjson.Pass {
			t.Errorf("%s: t.TempDir: %s", cell, o)
		}
		// The test step has no network.
		if o := outcome(t, rep, "network", "TestNeedsNetwork", cell); o != testjson.Fail {
			t.Errorf("%s: network test: %s", cell, o)
		}
		// Panics and timeouts are their own outcomes; what a panic kept from running is not a failure.
		if o := outcome(t, rep, "crash", "TestPanics", cell); o != testjson.Panic {
			t.Errorf("%s: panicking test: %s", cell, o)
		}
		for _, r := range rep.Tests {
			if r.Package == mod+"crash" && r.Test == "TestAfterPanic" {
				if res, ok := r.Result(cell); ok && res.Outcome != testjson.NotRun {
					t.Errorf("%s: test after the panic: %s", cell, res.Outcome)
				}
			}
		}
		if o := outcome(t, rep, "hang", "TestHangs", cell); o != testjson.Timeout {
			t.Errorf("%s: hanging test: %s", cell, o)
		}
		if o := outcome(t, rep, "plain", "TestPasses", cell); o != testjson.Pass {
			t.Errorf("%s: plain pass: %s", cell, o)
		}
		if o := outcome(t, rep, "plain", "TestSkipped", cell); o != testjson.Skip {
			t.Errorf("%s: skip: %s", cell, o)
		}
	}
	if rep.Verdict(false).OK {
		t.Error("the verdict must be red")
	}
	if left := leftovers(t, eng); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

// TestTamperedModuleCacheFailsVerify fills a cell's module cache, changes a
// file in it, and expects the next run's deps step to fail the cell with
// go mod verify's own message.
func TestTamperedModuleCacheFailsVerify(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, Packages: []string{"./plain/"}, CacheScope: scope(t, eng)}
	rep, plan := h.run(t, context.Background(), eng, req, runner.Options{})
	if c := rep.Cells[0]; c.Status != job.StatusPassed {
		t.Fatalf("clean run: %s %s", c.Status, c.Message)
	}
	var modCache string
	for _, m := range plan.Specs[0].Mounts {
		if m.Kind == job.MountCache && strings.HasSuffix(m.Name, "-gomod") {
			modCache = m.Name
		}
	}
	ctx := context.Background()
	cli := eng.Client()
	img := h.image("glibc").Repo + "@" + h.image("glibc").Platforms["linux/amd64"]
	c, err := cli.ContainerCreate(ctx, &container.Config{
		Image: img, User: "0:0",
		Cmd: []string{"sh", "-c", "f=$(ls -d /m/golang.org/x/sync@*/errgroup/errgroup.go) && chmod u+w $f && echo '// tampered' >> $f"},
	}, &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: modCache, Target: "/m"}}, NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	wait, errc := cli.ContainerWait(ctx, c.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-wait:
		if w.StatusCode != 0 {
			t.Fatalf("tampering exited %d", w.StatusCode)
		}
	case err := <-errc:
		t.Fatal(err)
	}

	rep, _ = h.run(t, ctx, eng, req, runner.Options{})
	cell := rep.Cells[0]
	if cell.Status != job.StatusDepsFailed || !strings.Contains(cell.Message, "dir has been modified") || !strings.Contains(cell.Message, "golang.org/x/sync") {
		t.Fatalf("tampered cache: status %s, message %q", cell.Status, cell.Message)
	}
	if ok := rep.Verdict(false).OK; ok {
		t.Fatal("a cell that failed verify must fail the verdict")
	}
}

// TestProbeRefusesAnImageThatLies pins the glibc image as if it were musl:
// the environment check must catch it before any test runs.
func TestProbeRefusesAnImageThatLies(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	liar := *h
	liar.lock = []byte(fmt.Sprintf(`{"version":1,"pins":[{"go":"1.26.8","libc":"musl","image":%q}]}`, h.image("glibc").Ref))
	rep, _ := liar.run(t, context.Background(), eng, pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"musl"}, Arch: []string{"amd64"}, CacheScope: scope(t, eng)}, runner.Options{})
	c := rep.Cells[0]
	if c.Status != job.StatusEnvMismatch || !strings.Contains(c.Message, "cc_libc: want musl") {
		t.Fatalf("status %s message %q", c.Status, c.Message)
	}
	for _, s := range c.Steps {
		if s.Name == job.StepTest || s.Name == job.StepDeps {
			t.Fatalf("%s ran after a failed probe", s.Name)
		}
	}
}

// TestCancelLeavesNothingBehind interrupts a run while its test step hangs:
// the cell is reported as cancelled and its containers are gone.
func TestCancelLeavesNothingBehind(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	onEvent := func(e runner.Event) {
		if e.Kind == runner.EventStepStart && e.Step == job.StepTest {
			time.AfterFunc(3*time.Second, cancel)
		}
	}
	rep, _ := h.run(t, ctx, eng, pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, Packages: []string{"./hang/"}, CacheScope: scope(t, eng)}, runner.Options{OnEvent: onEvent})
	if c := rep.Cells[0]; c.Status != job.StatusCancelled {
		t.Fatalf("status %s %s", c.Status, c.Message)
	}
	if left := leftovers(t, eng); len(left) > 0 {
		t.Fatalf("containers left after cancel: %v", left)
	}
}

// TestSetupStepIsCommittedAndReused checks the mechanism Alpine cells use to
// get a C compiler: the setup step's changes are committed as a local image
// that later steps run on, and a later run reuses it instead of running the
// setup again. (The apk install itself cannot run here: no Alpine image.)
func TestSetupStepIsCommittedAndReused(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	goMod, _ := os.ReadFile(filepath.Join(h.fixDir, "go.mod"))
	req := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, CacheScope: scope(t, eng)}
	in, err := req.Inputs(goMod, h.lock, "test lock")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pipeline.MakePlan(in, eng.Traits())
	if err != nil {
		t.Fatal(err)
	}
	spec := plan.Specs[0]
	marker := fmt.Sprintf("/etc/parity-setup-%d", time.Now().UnixNano())
	setup := job.Step{Name: job.StepSetup, Root: true, Args: []string{"sh", "-c", "echo prepared > " + marker}}
	look := job.Step{Name: job.StepProbe, Args: []string{"cat", marker}}
	spec.Steps = []job.Step{setup, look}

	ctx := context.Background()
	setupImages := func() map[string]bool {
		list, err := eng.Client().ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "parity-setup"))})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, im := range list {
			ids[im.ID] = true
		}
		return ids
	}
	before := setupImages()
	t.Cleanup(func() {
		for id := range setupImages() {
			if !before[id] {
				eng.Client().ImageRemove(ctx, id, image.RemoveOptions{Force: true})
			}
		}
	})
	for i, wantSetup := range []string{"", "reused prepared image"} {
		cell, err := eng.Start(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		s := cell.Exec(ctx, setup)
		if s.Err != "" || s.ExitCode != 0 || !strings.Contains(s.Stdout, wantSetup) {
			t.Fatalf("run %d setup: %+v", i, s)
		}
		r := cell.Exec(ctx, look)
		if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != "prepared" {
			t.Fatalf("run %d: the step after setup does not see its change: %+v", i, r)
		}
		cell.Close()
	}
	if left := leftovers(t, eng); len(left) > 0 {
		t.Fatalf("containers left: %v", left)
	}
}

package integration

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

const (
	glibc386   = "go1.26.8/glibc/386"
	glibcS390X = "go1.26.8/glibc/s390x"
	platMod    = "example.com/platforms/"
)

// TestPlatformsMatrix runs testdata/platforms on glibc amd64 (TMPDIR behind
// a symlink there), 386 (natively) and s390x (under qemu-user, the stand-in
// image), CGO off (the s390x stand-in has no C compiler), with --compile
// windows/amd64, and checks each planted case: the 32-bit int wrap and the
// unaligned 64-bit atomic on 386, the byte-order assumption on s390x, the
// temp-dir comparison where TMPDIR is a symlink, the windows-only build
// break per package and target. On a kernel that cannot run 32-bit x86
// programs there is no 386 image: the 386 cases are left out, and said so.
func TestPlatformsMatrix(t *testing.T) {
	h := env(t)
	if !h.s390x {
		t.Skip("no s390x image: qemu-s390x binfmt is not registered (CI requires it: see the harness)")
	}
	dir, err := filepath.Abs("../testdata/platforms")
	if err != nil {
		t.Fatal(err)
	}
	eng := h.engine(t, dir)
	arches, cells := []string{"amd64", "386", "s390x"}, []string{glibcAMD64, glibc386, glibcS390X}
	if !h.i386 {
		t.Log("NOT CHECKED: the 386 cases (word size, unaligned atomic): this kernel cannot run 32-bit x86 programs")
		arches, cells = []string{"amd64", "s390x"}, []string{glibcAMD64, glibcS390X}
	}
	req := pipeline.Request{
		Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: arches,
		Cgo: "off", Compile: []string{"windows/amd64"}, TmpdirSymlink: []string{"*/*/amd64"},
		Timeout: "10m", CacheScope: scope(t, eng),
		Parallel: 1, // one cell at a time: the durations compare the arches, not their share of 2 cores
	}
	rep, plan := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)

	if len(rep.Cells) != len(cells) {
		t.Fatalf("%d cells in the report, want %d", len(rep.Cells), len(cells))
	}
	for _, name := range cells {
		c := cellOf(t, rep, name)
		if c.Status != job.StatusFailed {
			t.Fatalf("%s: status %s (%s); steps %+v", name, c.Status, c.Message, c.Steps)
		}
		if want := h.image("glibc").Platforms[c.Cell.Platform()]; want == "" || c.PlatformDigest != want {
			t.Errorf("%s ran %q, the pinned index selects %q for %s", name, c.PlatformDigest, want, c.Cell.Platform())
		}
		if c.Probe["goarch"] != string(c.Cell.Arch) || c.Probe["cgo_enabled"] != "0" {
			t.Errorf("%s probe: %v", name, c.Probe)
		}
		if c.Race {
			t.Errorf("%s: race on with CGO_ENABLED=0", name)
		}
	}
	for _, sp := range plan.Specs {
		emu := slices.ContainsFunc(sp.Decisions, func(d job.Decision) bool { return d.Policy == policies.IDEmulation && d.Effect == "qemu" })
		if emu != (sp.Cell.String() == glibcS390X) {
			t.Errorf("%s: emulation decision qemu = %v", sp.Cell, emu)
		}
		tmp := slices.ContainsFunc(sp.Decisions, func(d job.Decision) bool { return d.Policy == policies.IDTmpdirSymlink })
		casefold := slices.ContainsFunc(sp.Decisions, func(d job.Decision) bool { return d.Policy == policies.IDCasefold && d.Effect == "not-offered" })
		if want := sp.Cell.String() == glibcAMD64; tmp != want || casefold != want {
			t.Errorf("%s: tmpdir-symlink decision %v, casefold decision %v, want %v", sp.Cell, tmp, casefold, want)
		}
	}

	// Each planted case diverges on the arch axis, alone where it fails,
	// with the cause that names it.
	for _, tc := range []struct {
		pkg, test, failsIn, cause string
	}{
		{"wordsize", "TestMillisOfAMonth", glibc386, "word-size"},
		{"atomic64", "TestCounterAdds", glibc386, "unaligned-atomic"},
		{"byteorder", "TestBytesAreLittleEndian", glibcS390X, "byte-order"},
		{"tempdir", "TestTempDirIsResolved", glibcAMD64, "tmpdir-symlink"},
	} {
		if !slices.Contains(cells, tc.failsIn) {
			continue
		}
		for _, cell := range cells {
			// A failure: fail, or panic (the unaligned atomic).
			got := platOutcome(t, rep, tc.pkg, tc.test, cell)
			if want := cell == tc.failsIn; got.Failed() != want || (!want && got != testjson.Pass) {
				t.Errorf("%s.%s in %s: %s, want it to fail %v", tc.pkg, tc.test, cell, got, want)
			}
		}
		d, ok := divergence(rep, platMod+tc.pkg, tc.test)
		if !ok {
			t.Errorf("%s.%s: not divergent", tc.pkg, tc.test)
			continue
		}
		if !slices.Contains(d.Axes, report.AxisArch) || d.Cause.ID != tc.cause || d.Cause.EvidenceCell != tc.failsIn {
			t.Errorf("%s.%s: axes %v, cause %s from %s (%q), want arch and %s from %s", tc.pkg, tc.test, d.Axes, d.Cause.ID, d.Cause.EvidenceCell, d.Cause.Evidence, tc.cause, tc.failsIn)
		}
	}
	if d, _ := divergence(rep, platMod+"atomic64", "TestCounterAdds"); h.i386 && !strings.Contains(d.Cause.Evidence, "unaligned 64-bit atomic operation") {
		t.Errorf("unaligned atomic evidence %q", d.Cause.Evidence)
	}

	// The windows-only break: one target, built by one cell, one package.
	if len(rep.Compile) != 1 {
		t.Fatalf("compile targets %+v, want windows/amd64 alone", rep.Compile)
	}
	ct := rep.Compile[0]
	if ct.Target != "windows/amd64" || !ct.Built || ct.Cell != glibcAMD64 || len(ct.Failures) != 1 || ct.Packages < 5 {
		t.Fatalf("compile target %+v", ct)
	}
	want := "example.com/platforms/winbreak does not build for windows/amd64: undefined: sep"
	if p := ct.Problems(); len(p) != 1 || p[0] != want {
		t.Errorf("compile problems %q, want %q", p, want)
	}
	if rep.Conclusion.OK || !slices.ContainsFunc(rep.Conclusion.Reasons, func(r string) bool { return strings.Contains(r, "winbreak") }) {
		t.Errorf("verdict %+v: want red, naming the windows break", rep.Conclusion)
	}

	// What emulation costs: the test step of the s390x cell against the
	// amd64 one's (the amd64 cell also builds the windows target in a
	// step of its own), the same packages, each from an empty build cache.
	wall, cpu := map[string]float64{}, map[string]float64{}
	for _, name := range cells {
		for _, st := range cellOf(t, rep, name).Steps {
			if st.Name == job.StepTest {
				wall[name], cpu[name] = st.DurationSeconds, st.CPUSeconds
			}
		}
		if wall[name] <= 0 || cpu[name] <= 0 {
			t.Fatalf("%s: test step wall %.1fs, CPU %.1fs", name, wall[name], cpu[name])
		}
		t.Logf("%s test step: wall %.1fs, CPU %.1fs", name, wall[name], cpu[name])
	}
	t.Logf("s390x/amd64: %.1fx wall, %.1fx CPU", wall[glibcS390X]/wall[glibcAMD64], cpu[glibcS390X]/cpu[glibcAMD64])
	if left := leftovers(t, eng); len(left) > 0 {
		t.Errorf("containers of this run left behind: %v", left)
	}
}

func platOutcome(t *testing.T, rep report.Report, pkg, test, cell string) testjson.Outcome {
	t.Helper()
	for _, r := range rep.Tests {
		if r.Package == platMod+pkg && r.Test == test {
			if res, ok := r.Result(cell); ok {
				return res.Outcome
			}
			return testjson.NotRun
		}
	}
	t.Fatalf("no row for %s %s", pkg, test)
	return ""
}

func divergence(rep report.Report, pkg, test string) (report.Divergence, bool) {
	for _, d := range rep.Divergences {
		if d.Package == pkg && d.Test == test {
			return d, true
		}
	}
	return report.Divergence{}, false
}

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// checkout copies the fixture to a directory of its own, as a clone would
// be, with the harness's pins in its own parity.lock.json, and with
// edit applied to its go.mod (nil: unchanged).
func (h *harness) checkout(t *testing.T, edit func(goMod string) string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fixture")
	if err := os.CopyFS(dir, os.DirFS(h.fixDir)); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		p := filepath.Join(dir, "go.mod")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(edit(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, matrix.LockFile), h.lock, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runCheckout runs req on the checkout in dir the way `parity report
// --source=dir` does: its own engine with dir as source, go.mod, go.sum and
// the lock read from dir (the lock named by its absolute path), the source
// identity and Meta filled as cmd/parity fills them. The report goes
// through its JSON form, as reports from other machines reach `parity merge`.
func (h *harness) runCheckout(t *testing.T, dir string, req pipeline.Request) report.Report {
	t.Helper()
	eng := h.engine(t, dir)
	goMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(dir, matrix.LockFile)
	lock, err := os.ReadFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	goSum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	req.SourceID = "path:" + dir // cmd/parity's sourceIdentity outside git; CacheScope overrides it
	in, err := req.Inputs(goMod, lock, lockPath)
	if err != nil {
		t.Fatal(err)
	}
	in.Policy = depsPolicy(in.Policy)
	plan, err := pipeline.MakePlan(in, eng.Traits())
	if err != nil {
		t.Fatal(err)
	}
	if plan.Pins != lockPath {
		t.Fatalf("plan pins %q, want the checkout's lock %s", plan.Pins, lockPath)
	}
	rep := pipeline.Execute(context.Background(), plan, eng, runner.Options{}, pipeline.Meta{
		Tool: "parity", Version: "test",
		Revision: gitOut(dir, "rev-parse", "HEAD"), Dir: strings.TrimSuffix(gitOut(dir, "rev-parse", "--show-prefix"), "/"),
		GoSum:   pipeline.Digest(goSum),
		Options: in.Policy,
	})
	if left := leftovers(t, eng); len(left) > 0 {
		t.Errorf("%s: containers left behind: %v", dir, left)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := report.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// gitOut is what cmd/parity asks git about the source ("" outside a repository).
func gitOut(dir string, args ...string) string {
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// outcomes is every (package, test, cell) outcome of a report.
func outcomes(rep report.Report) map[string]testjson.Outcome {
	m := map[string]testjson.Outcome{}
	for _, row := range rep.Tests {
		for _, res := range row.Results {
			m[row.Package+"."+row.Test+" in "+res.Cell] = res.Outcome
		}
	}
	return m
}

// divergenceKeys names each divergence by package, test, axes, cause and
// which cells had which outcome.
func divergenceKeys(rep report.Report) []string {
	var keys []string
	for _, d := range rep.Divergences {
		b, _ := json.Marshal(d.Outcomes)
		keys = append(keys, d.Package+"."+d.Test+" axes="+strings.Join(d.Axes, ",")+" cause="+d.Cause.ID+" outliers="+strings.Join(d.Outliers, ",")+" "+string(b))
	}
	return keys
}

func verdictJSON(t *testing.T, v report.Verdict) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMergeAcrossCheckouts: the glibc cell run from one checkout and the
// musl cell from another, each with its own lock file at its own path,
// merge into the report one run of both cells from a third checkout makes:
// same cells, same outcomes, same divergences, same verdict. The same cell
// twice, and a report of another module, are refused.
func TestMergeAcrossCheckouts(t *testing.T) {
	h := env(t)
	a, b, c := h.checkout(t, nil), h.checkout(t, nil), h.checkout(t, nil)
	// The CLI's defaults for re-runs and experiments: what a merged report
	// cannot have (re-runs of a test in the cell where it passed alone,
	// experiments across cells) must not change its outcomes, divergences
	// or verdict.
	req := pipeline.Request{
		Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Timeout: "60s", Reruns: 2, Explain: "auto",
		Packages:   []string{"./libc", "./image", "./plain", "./sandbox"},
		CacheScope: scope(t, h.engine(t, c)), // one scope: the later runs are warm
	}
	only := func(libc string) pipeline.Request {
		r := req
		r.Libc = []string{libc}
		return r
	}
	glibc := h.runCheckout(t, a, only("glibc"))
	musl := h.runCheckout(t, b, only("musl"))
	whole := h.runCheckout(t, c, req)

	for _, r := range []report.Report{glibc, musl, whole} {
		for _, cell := range r.Cells {
			if cell.Status != job.StatusFailed { // sandbox.TestWriteBesideSources fails everywhere
				t.Fatalf("%s: status %s (%s); steps %+v", cell.Name, cell.Status, cell.Message, cell.Steps)
			}
		}
	}
	if glibc.Source.GoSum == "" || glibc.Source.Pins == "" || glibc.Source.GoSum != musl.Source.GoSum || glibc.Source.Pins != musl.Source.Pins {
		t.Fatalf("digests of identical checkouts: %+v vs %+v", glibc.Source, musl.Source)
	}
	// Alone, neither report can see the libc divergences.
	if len(glibc.Divergences) != 0 || len(musl.Divergences) != 0 {
		t.Fatalf("a one-cell report has divergences: %v %v", divergenceKeys(glibc), divergenceKeys(musl))
	}

	merged, err := report.Merge(musl, glibc)
	if err != nil {
		t.Fatalf("reports of two checkouts of one module: %v", err)
	}
	var names, wantNames []string
	for _, cell := range merged.Cells {
		names = append(names, cell.Name)
	}
	for _, cell := range whole.Cells {
		wantNames = append(wantNames, cell.Name)
	}
	if !slices.Equal(names, wantNames) || !slices.Equal(names, []string{glibcAMD64, muslAMD64}) {
		t.Errorf("merged cells %v, one run's %v", names, wantNames)
	}
	for i := range merged.Cells {
		if i >= len(whole.Cells) {
			break
		}
		// Cached differs by design: the later run replays what the earlier
		// ones ran (the module is at /src in every container, wherever the
		// checkout is, so go test's cache serves all three).
		g, w := merged.Cells[i].Counts, whole.Cells[i].Counts
		g.Cached, w.Cached = 0, 0
		if g != w {
			t.Errorf("%s counts: merged %+v, one run %+v", merged.Cells[i].Name, g, w)
		}
	}
	got, want := outcomes(merged), outcomes(whole)
	for k, o := range want {
		if got[k] != o {
			t.Errorf("%s: merged %q, one run %q", k, got[k], o)
		}
	}
	for k, o := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: merged has %q, one run has no result", k, o)
		}
	}
	if g, w := divergenceKeys(merged), divergenceKeys(whole); !slices.Equal(g, w) {
		t.Errorf("divergences:\nmerged   %q\none run  %q", g, w)
	}
	// What the fixture plants, so the comparison is not of two empty sets.
	wantDiv := []string{"libc.TestPrintfNullPointer", "image.TestRunsBashScript"}
	var gotDiv []string
	for _, d := range merged.Divergences {
		gotDiv = append(gotDiv, strings.TrimPrefix(d.Package, mod)+"."+d.Test)
		if !slices.Contains(d.Axes, "libc") {
			t.Errorf("%s.%s: axes %v, want libc", d.Package, d.Test, d.Axes)
		}
	}
	slices.Sort(gotDiv)
	slices.Sort(wantDiv)
	if !slices.Equal(gotDiv, wantDiv) {
		t.Errorf("merged divergences %v, want %v", gotDiv, wantDiv)
	}
	explained := func(r report.Report) (n int) {
		for _, row := range r.Tests {
			if row.Explanation != nil {
				n++
			}
		}
		return n
	}
	t.Logf("tests explained by experiment: one run %d, merged %d (experiments need both cells in one run)", explained(whole), explained(merged))
	t.Logf("merged divergences: %q", divergenceKeys(merged))
	t.Logf("merged verdict: %s", verdictJSON(t, merged.Conclusion))
	if g, w := verdictJSON(t, merged.Conclusion), verdictJSON(t, whole.Conclusion); g != w {
		t.Errorf("verdict:\nmerged   %s\none run  %s", g, w)
	}
	if merged.Conclusion.OK || merged.Verdict(false).OK {
		t.Error("the merged verdict must be red")
	}
	if merged.Source != whole.Source {
		t.Errorf("merged source %+v, one run's %+v", merged.Source, whole.Source)
	}
	if len(merged.MergedFrom) != 2 {
		t.Errorf("mergedFrom %+v", merged.MergedFrom)
	}

	// The same cell twice is refused, not folded: from one report merged
	// with itself, and from a report that overlaps another.
	for _, tc := range []struct {
		name string
		in   []report.Report
		want string
	}{
		{"itself", []report.Report{glibc, glibc}, "cell " + glibcAMD64 + " is in report 1 and report 2"},
		{"overlap", []report.Report{musl, whole}, "cell " + muslAMD64 + " is in report 1 and report 2"},
	} {
		if m, err := report.Merge(tc.in...); err == nil {
			t.Errorf("%s: merged into %d cells, want a refusal", tc.name, len(m.Cells))
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.want)
		}
	}

	// Another module (same go.sum, pins and options, disjoint cell) is refused.
	other := h.runCheckout(t, h.checkout(t, func(goMod string) string {
		return strings.Replace(goMod, "module example.com/fixture\n", "module example.com/other\n", 1)
	}), only("musl"))
	if other.Source.Module != "example.com/other" {
		t.Fatalf("other checkout's module %q", other.Source.Module)
	}
	if m, err := report.Merge(glibc, other); err == nil {
		t.Errorf("another module merged into %d cells, want a refusal", len(m.Cells))
	} else if !strings.Contains(err.Error(), `report 2 is of module "example.com/other", report 1 of "example.com/fixture"`) {
		t.Errorf("another module: %v", err)
	}
}

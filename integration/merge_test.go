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

	"github.com/parity-ci/parity/dockerengine"
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
	return h.checkoutOf(t, h.fixDir, edit)
}

// checkoutOf is checkout of another module of testdata.
func (h *harness) checkoutOf(t *testing.T, src string, edit func(goMod string) string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
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
	eng, plan, meta := h.planCheckout(t, dir, req)
	rep := pipeline.Execute(context.Background(), plan, eng, runner.Options{}, meta)
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

// planCheckout is what cmd/parity does with --source=dir before it runs
// anything: its own engine with dir as source, go.mod, go.sum and the lock
// read from dir (the lock named by its absolute path), the source identity
// and Meta filled as cmd/parity fills them.
func (h *harness) planCheckout(t *testing.T, dir string, req pipeline.Request) (*dockerengine.Engine, pipeline.Plan, pipeline.Meta) {
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
	return eng, plan, pipeline.Meta{
		Tool: "parity", Version: "test",
		Revision: gitOut(dir, "rev-parse", "HEAD"), Dir: strings.TrimSuffix(gitOut(dir, "rev-parse", "--show-prefix"), "/"),
		GoSum:   pipeline.Digest(goSum),
		Options: in.Policy,
	}
}

// recheckCheckout is `parity recheck --plan P --cell CELL --source=dir`:
// the cell's share of a merge's plan, made on the checkout in dir with the
// flags of the cell jobs (req, over the plan's cells), through the JSON
// file parity merge reads.
func (h *harness) recheckCheckout(t *testing.T, dir string, req pipeline.Request, plan pipeline.RecheckPlan, cell string) report.Rechecked {
	t.Helper()
	eng, p, meta := h.planCheckout(t, dir, req)
	_, recs, err := pipeline.RecheckMerged(context.Background(), plan.Report, p, eng, runner.Options{}, []string{cell})
	if err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, eng); len(left) > 0 {
		t.Errorf("%s: containers left behind: %v", dir, left)
	}
	var buf bytes.Buffer
	if err := pipeline.Rechecked(p, meta, []string{cell}, recs).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := report.ReadRechecked(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// mergeAndRecheck is the merge flow of the parity-matrix workflow: merge
// the cell reports with --plan; while the plan has cells with work, each
// makes its share on its own checkout (dirs, by cell) and the next merge
// folds them in. It returns the final report and how many merges it took.
func (h *harness) mergeAndRecheck(t *testing.T, req pipeline.Request, dirs map[string]string, reps ...report.Report) (report.Report, int) {
	t.Helper()
	merged, err := report.Merge(reps...)
	if err != nil {
		t.Fatalf("reports of two checkouts of one module: %v", err)
	}
	merges := 1
	for {
		plan := pipeline.PlanRecheck(merged)
		if len(plan.Cells) == 0 {
			return merged, merges
		}
		if merges == 4 {
			t.Fatalf("still work after %d merges: %+v", merges, plan.Shares)
		}
		t.Logf("merge %d: provisional, work in %v", merges, plan.Cells)
		var done []report.Rechecked
		for _, cell := range plan.Cells {
			done = append(done, h.recheckCheckout(t, dirs[cell], req, plan, cell))
		}
		if merged, err = report.Fold(merged, done, len(reps)+1); err != nil {
			t.Fatal(err)
		}
		merges++
	}
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
// merge, then make in a recheck stage (each cell on its own checkout) what
// the merged report asks for, and merge again, into the report one run of
// both cells from a third checkout makes: same cells, same outcomes, same
// words, same verdict. The divergence found only at merge (no bash on
// musl) is explained by an experiment made in the recheck stage. The same
// cell twice, and a report of another module, are refused.
func TestMergeAcrossCheckouts(t *testing.T) {
	h := env(t)
	a, b, c := h.checkout(t, nil), h.checkout(t, nil), h.checkout(t, nil)
	// The CLI's defaults for re-runs and experiments.
	req := pipeline.Request{
		Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Timeout: "60s", Reruns: 2, ReRunsMax: 10, Explain: "auto",
		Packages:   []string{"./image", "./plain", "./sandbox"},
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
	// Alone, neither report can see the libc divergence.
	if len(glibc.Divergences) != 0 || len(musl.Divergences) != 0 {
		t.Fatalf("a one-cell report has divergences: %v %v", divergenceKeys(glibc), divergenceKeys(musl))
	}
	// Merged, its decisions need runs in the cell that passed: provisional.
	if first, err := report.Merge(musl, glibc); err != nil || !first.Conclusion.Provisional || first.Conclusion.OK {
		t.Fatalf("the first merge: %v, verdict %+v: want provisional", err, first.Conclusion)
	}
	merged, merges := h.mergeAndRecheck(t, req, map[string]string{glibcAMD64: a, muslAMD64: b}, musl, glibc)
	if merges != 3 {
		t.Errorf("%d merges, want 3: the cells, the looks of the divergence test, the experiments", merges)
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
	wantDiv := []string{"image.TestRunsBashScript"}
	var gotDiv []string
	for _, d := range merged.Divergences {
		if d.Mild {
			continue
		}
		gotDiv = append(gotDiv, strings.TrimPrefix(d.Package, mod)+"."+d.Test)
		if !slices.Contains(d.Axes, "libc") || !d.Decision.Holds {
			t.Errorf("%s.%s: axes %v decision %+v, want libc, held", d.Package, d.Test, d.Axes, d.Decision)
		}
	}
	if !slices.Equal(gotDiv, wantDiv) {
		t.Errorf("merged divergences %v, want %v", gotDiv, wantDiv)
	}
	for _, r := range []report.Report{merged, whole} {
		row := row(t, r, "image", "TestRunsBashScript")
		if e := row.Explanation; e == nil || !e.Confirmed || e.Experiment != "program-bash" {
			t.Errorf("explanation %+v: want bash from the passing image, confirmed (in the recheck stage, merged)", e)
		}
	}
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

// Issue 22, measured: a test failing most of its runs on musl and
// never on glibc, run as one job per libc and merged, came out "FLAKY" and
// green where one run over both cells found an intermittent libc
// divergence: a lone cell has no other side to compare, and the merge
// re-ran nothing. Now the merge plans the alone runs its test needs in
// both cells, a recheck stage makes them, and the final merge finds the
// divergence one run finds.
func TestMergedIntermittentMatchesOneRun(t *testing.T) {
	h := env(t)
	src := repetitionDir(t)
	a, b, c := h.checkoutOf(t, src, nil), h.checkoutOf(t, src, nil), h.checkoutOf(t, src, nil)
	req := pipeline.Request{
		Go: []string{"1.26.8"}, Arch: []string{"amd64"}, Packages: []string{"./intermittent"}, Reruns: 2, ReRunsMax: 20, Explain: "off",
		CacheScope: scope(t, h.engine(t, c)),
	}
	only := func(libc string) pipeline.Request {
		r := req
		r.Libc = []string{libc}
		return r
	}
	glibc := h.runCheckout(t, a, only("glibc"))
	musl := h.runCheckout(t, b, only("musl"))
	whole := h.runCheckout(t, c, req)
	merged, merges := h.mergeAndRecheck(t, req, map[string]string{glibcAMD64: a, muslAMD64: b}, glibc, musl)
	t.Logf("%d merges", merges)
	for name, r := range map[string]report.Report{"one run": whole, "merged": merged} {
		if len(r.Divergences) != 1 || !r.Divergences[0].Intermittent || !slices.Equal(r.Divergences[0].Axes, []string{"libc"}) {
			t.Errorf("%s: divergences %q, want the intermittent libc divergence", name, divergenceKeys(r))
			continue
		}
		d := r.Divergences[0]
		t.Logf("%s: %s (%s)", name, report.CountsText(d.Counts), d.Decision.Text())
		if v := r.Conclusion; v.OK || v.DivergentTests != 1 || v.FlakyTests != 0 || v.Provisional {
			t.Errorf("%s: verdict %+v", name, v)
		}
	}
}

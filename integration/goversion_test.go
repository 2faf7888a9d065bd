package integration

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/internal/testimages"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/render"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// The planted go-axis divergences are testdata/goversion (its README says
// what each test relies on).
const goversion = "example.com/goversion/"

func goversionDir(t *testing.T) string {
	d, err := filepath.Abs("../testdata/goversion")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestGoVersionExperiment runs two tests that pass on Go 1.26.8 and fail
// on Go 1.27.3 for real reasons (newer Unicode tables; a new net/http
// limit on ranges) in Go {1.26.8, 1.27.3} × {glibc, musl} × amd64, with two
// re-runs and every experiment. Each must diverge on the go axis alone,
// every cell agreeing with itself; the go-version experiment (Go 1.26.8's
// image on the failing cell's libc, the failing cell's settings) must
// confirm it; godebug-old must be tried and, since on the module's go
// 1.26 line Go 1.27.3 already runs the settings it sets at their old
// values, fail; and the experiments must change no outcome.
func TestGoVersionExperiment(t *testing.T) {
	h := env(t)
	for _, libc := range []string{"glibc", "musl"} {
		if !slices.ContainsFunc(h.images, func(im testimages.Image) bool { return im.Go == newerGo && im.Libc == libc }) {
			t.Fatalf("the harness built no go%s %s image", newerGo, libc)
		}
	}
	dir := goversionDir(t)
	eng := h.engine(t, dir)
	req := pipeline.Request{
		Go: []string{"1.26.8", newerGo}, Libc: []string{"glibc", "musl"}, Arch: []string{"amd64"},
		Packages: []string{"./upperkey", "./ranges"}, Reruns: 2, ReRunsMax: 10, Explain: "on",
	}
	req.CacheScope = scope(t, eng)
	rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
	keep(t, rep)
	if len(rep.Cells) != 4 {
		t.Fatalf("%d cells, want 4", len(rep.Cells))
	}
	for _, c := range rep.Cells {
		if !c.RanTests() {
			t.Fatalf("%s did not run its tests: %s %s", c.Name, c.Status, c.Message)
		}
	}
	newGlibc, newMusl := "go"+newerGo+"/glibc/amd64", "go"+newerGo+"/musl/amd64"
	want := map[string]testjson.Outcome{newGlibc: testjson.Fail, newMusl: testjson.Fail, glibcAMD64: testjson.Pass, muslAMD64: testjson.Pass}

	for _, test := range []struct{ pkg, name string }{
		{"upperkey", "TestKeysMatchTheStoredIndex"},
		{"ranges", "TestManyRangesInOneRequest"},
	} {
		r := repRow(t, rep, goversion+test.pkg, test.name)
		// Steady in every cell: the first run and every alone re-run agree,
		// and the experiments that ran afterwards left them as they were.
		for cell, o := range want {
			res, ok := r.Result(cell)
			alone := res.Outcomes(report.RunAlone)
			if !ok || res.Outcome != o || res.Flaky || len(alone) < 2 || slices.ContainsFunc(alone, func(x testjson.Outcome) bool { return x != o }) {
				t.Errorf("%s on %s: %s, alone %v, flaky %v; want %s every run", test.name, cell, res.Outcome, alone, res.Flaky, o)
			}
		}
		i := slices.IndexFunc(rep.Divergences, func(d report.Divergence) bool { return d.Package == r.Package && d.Test == r.Test })
		if !r.Divergent || i < 0 {
			t.Errorf("%s: not divergent", test.name)
			continue
		}
		if d := rep.Divergences[i]; !slices.Equal(d.Axes, []string{"go"}) || d.Intermittent {
			t.Errorf("%s: axes %v intermittent %v, want go alone, steady", test.name, d.Axes, d.Intermittent)
		}
		e := r.Explanation
		if e == nil {
			t.Errorf("%s: no explanation", test.name)
			continue
		}
		var tried []string
		for _, tr := range e.Tried {
			tried = append(tried, fmt.Sprintf("%s=%s %d/%d %s", tr.ID, tr.Outcome, tr.Passes, tr.Runs, tr.Error))
		}
		t.Logf("%s: %s; tried %s", test.name, e.Text, strings.Join(tried, ", "))
		// Confirmed against its control, in the failing cell, towards the
		// closest passing cell (same libc, the other Go).
		if !e.Confirmed || e.Experiment != "go-version" || e.Cell != newGlibc || e.Passing != glibcAMD64 ||
			!strings.HasPrefix(e.Text, fmt.Sprintf("confirmed: passes %d of %d runs on %s with the passing cell's Go on this cell's libc; unchanged", e.RunsPerArm, e.RunsPerArm, newGlibc)) {
			t.Errorf("%s: explanation %+v, want confirmed by go-version", test.name, *e)
		}
		j := slices.IndexFunc(e.Tried, func(tr report.Trial) bool { return tr.ID == "godebug-old" })
		if j < 0 {
			t.Errorf("%s: godebug-old not tried", test.name)
			continue
		}
		// It ran (the failing Go's table has settings changed in 1.27)
		// and the test failed with them at their old values: they were
		// already, on this module's go line.
		if g := e.Tried[j]; g.Outcome != testjson.Fail || g.Runs == 0 || g.Passes != 0 || g.Error != "" {
			t.Errorf("%s: godebug-old %+v, want run and failed every run", test.name, g)
		}
	}
	// Experiments explain; they never change a cell's outcome or verdict.
	if v := rep.Conclusion; v.OK || v.DivergentTests != 2 || v.FlakyTests != 0 {
		t.Errorf("verdict %+v, want red with 2 divergent tests", v)
	}
	var term bytes.Buffer
	if err := render.Terminal(&term, rep, render.TerminalOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	t.Logf("terminal:\n%s", term.String())
	if left := leftovers(t, eng); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

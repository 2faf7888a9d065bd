package integration

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// TestRerunsAndExplain runs, on the two amd64 cells, a planted flake
// (fixture flaky, fails its first run on musl only), a planted C stack
// divergence (fixture stack: 1 MiB of C recursion on a default thread
// overflows musl's 128 KiB) and the image divergence (fixture image: no
// bash in the musl image), with two re-runs and every experiment. The flake
// must come out flaky and not divergent; each divergence must stand and be
// confirmed by its experiment; experiments must not change any outcome.
func TestRerunsAndExplain(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	req := pipeline.Request{
		Go: []string{"1.26.8"}, Libc: []string{"glibc", "musl"}, Arch: []string{"amd64"},
		Packages: []string{"./flaky/", "./stack/", "./image/", "./libc/"}, Tags: []string{"recheck"},
		CacheScope: scope(t, eng), Reruns: 2, Explain: "on",
	}
	rep, _ := h.run(t, context.Background(), eng, req, runner.Options{})
	keep(t, rep)
	for _, c := range rep.Cells {
		if !c.RanTests() {
			t.Fatalf("%s did not run its tests: %s %s", c.Name, c.Status, c.Message)
		}
	}

	// The flake: its first run on musl failed while glibc passed, which
	// alone would be a libc divergence; the re-runs show it flaky on musl.
	flake := row(t, rep, "flaky", "TestFailsFirstRunOnMusl")
	musl, _ := flake.Result(muslAMD64)
	glibc, _ := flake.Result(glibcAMD64)
	if musl.Outcome != testjson.Fail || !slices.Equal(musl.Reruns, []testjson.Outcome{testjson.Pass, testjson.Pass}) || !musl.Flaky {
		t.Errorf("flake on musl: outcome %s reruns %v flaky %v, want fail, [pass pass], flaky", musl.Outcome, musl.Reruns, musl.Flaky)
	}
	if glibc.Outcome != testjson.Pass || !slices.Equal(glibc.Reruns, []testjson.Outcome{testjson.Pass, testjson.Pass}) || glibc.Flaky {
		t.Errorf("flake on glibc: outcome %s reruns %v flaky %v, want pass, [pass pass], steady", glibc.Outcome, glibc.Reruns, glibc.Flaky)
	}
	if flake.Divergent || flake.Failed || !flake.Flaky || flake.Explanation != nil {
		t.Errorf("flake row: divergent %v failed %v flaky %v explained %v; want flaky only", flake.Divergent, flake.Failed, flake.Flaky, flake.Explanation)
	}
	if len(rep.Flaky) != 1 || rep.Flaky[0].Test != "TestFailsFirstRunOnMusl" || len(rep.Flaky[0].Cells) != 1 ||
		rep.Flaky[0].Cells[0].Cell != muslAMD64 || rep.Flaky[0].Cells[0].Pass != 2 || rep.Flaky[0].Cells[0].Fail != 1 {
		t.Errorf("flaky tests = %+v, want the flake on musl with 2 passes and 1 failure", rep.Flaky)
	}

	// The divergences stand (each cell agreed with itself) and each is
	// confirmed by the experiment that flips its factor.
	for _, w := range []struct {
		pkg, test, experiment, text string
	}{
		// Confirmed: every one of the experiment's runs passed ("passes N
		// of N runs on ...").
		{"stack", "TestDeepCRecursionOnNewThread", "c-stack-8m", " runs on " + muslAMD64 + " with 8 MiB C thread stacks (unchanged, it fails 3 of 3)"},
		{"image", "TestRunsBashScript", "program-bash", " runs on " + muslAMD64 + " with bash from the passing cell's image (unchanged, it fails 3 of 3)"},
		// No factor narrower than the image flips printf("%p", NULL): the
		// passing libc's image, with this cell's Go and settings, does.
		{"libc", "TestPrintfNullPointer", "libc-image", " runs on " + muslAMD64 + " with the passing cell's image (its C library and files), this cell's Go and settings (unchanged, it fails 3 of 3)"},
	} {
		r := row(t, rep, w.pkg, w.test)
		m, _ := r.Result(muslAMD64)
		g, _ := r.Result(glibcAMD64)
		if !r.Divergent || !m.Outcome.Failed() || g.Outcome != testjson.Pass || m.Flaky || g.Flaky || len(m.Reruns) != 2 || len(g.Reruns) != 2 {
			t.Errorf("%s: divergent %v, musl %s %v, glibc %s %v: want a steady divergence", w.test, r.Divergent, m.Outcome, m.Reruns, g.Outcome, g.Reruns)
		}
		for _, o := range m.Reruns {
			if !o.Failed() {
				t.Errorf("%s: a re-run on musl did not fail: %v", w.test, m.Reruns)
			}
		}
		e := r.Explanation
		if e == nil {
			t.Errorf("%s: no explanation", w.test)
			continue
		}
		if !e.Confirmed || e.Experiment != w.experiment || !strings.HasPrefix(e.Text, "confirmed: passes ") || !strings.HasSuffix(e.Text, w.text) || e.Cell != muslAMD64 || e.Passing != glibcAMD64 {
			t.Errorf("%s: explanation %+v, want %q", w.test, *e, w.text)
		}
		var tried []string
		for _, tr := range e.Tried {
			tried = append(tried, tr.ID+"="+string(tr.Outcome)+tr.Error)
		}
		t.Logf("%s: %s; tried %s", w.test, e.Text, strings.Join(tried, ", "))
	}
	// Experiments explain; they never change a cell's outcome or verdict.
	if rep.Conclusion.OK || rep.Conclusion.DivergentTests != 3 || rep.Conclusion.FlakyTests != 1 {
		t.Errorf("verdict = %+v, want red with 3 divergent and 1 flaky", rep.Conclusion)
	}
	if left := leftovers(t, eng); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

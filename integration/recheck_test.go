package integration

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// TestRerunsAndExplain runs, on the two amd64 cells and with
// --source-mode=copy (issue 20, measured: copy mode broke every re-run and
// experiment), a planted flake (fixture flaky: fails its first run on musl
// only), a planted C stack divergence (fixture stack: 1 MiB of C recursion
// on a default thread overflows musl's 128 KiB) and the image divergence
// (fixture image: no bash in the musl image), with the CLI's re-runs and
// every experiment. The flake must come out flaky and nothing else; each
// divergence must be decided by its test on alone re-runs and confirmed by
// its experiment against its control; experiments must change no outcome.
func TestRerunsAndExplain(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	req := pipeline.Request{
		Go: []string{"1.26.8"}, Libc: []string{"glibc", "musl"}, Arch: []string{"amd64"},
		Packages: []string{"./flaky/", "./stack/", "./image/"}, Tags: []string{"recheck"},
		CacheScope: scope(t, eng), Reruns: 2, ReRunsMax: 10, Explain: "on", SourceMode: "copy",
	}
	rep, plan := h.run(t, context.Background(), eng, req, runner.Options{})
	keep(t, rep)
	for _, c := range rep.Cells {
		if !c.RanTests() {
			t.Fatalf("%s did not run its tests: %s %s", c.Name, c.Status, c.Message)
		}
	}
	if args := strings.Join(plan.Specs[0].Steps[len(plan.Specs[0].Steps)-1].Args, " "); !strings.Contains(args, `cp -pR "$e" "$dst/"`) {
		t.Fatalf("not in copy mode: %s", args)
	}

	// The flake: its first run on musl failed while glibc passed, which
	// alone would look like a libc divergence; alone it passes everywhere.
	flake := row(t, rep, "flaky", "TestFailsFirstRunOnMusl")
	musl, _ := flake.Result(muslAMD64)
	glibc, _ := flake.Result(glibcAMD64)
	for name, res := range map[string]report.Result{muslAMD64: musl, glibcAMD64: glibc} {
		alone := res.Outcomes(report.RunAlone)
		if len(alone) < 2 || slices.ContainsFunc(alone, func(o testjson.Outcome) bool { return o != testjson.Pass }) {
			t.Errorf("flake in %s: alone %v, want every run passing (re-runs work in copy mode)", name, alone)
		}
	}
	if musl.Outcome != testjson.Fail || !musl.Flaky || glibc.Flaky {
		t.Errorf("flake: musl %s flaky %v, glibc flaky %v", musl.Outcome, musl.Flaky, glibc.Flaky)
	}
	if flake.Divergent || flake.Failed || flake.OrderDependent || !flake.Flaky || flake.Explanation != nil {
		t.Errorf("flake row: divergent %v failed %v order %v flaky %v explained %v; want flaky only", flake.Divergent, flake.Failed, flake.OrderDependent, flake.Flaky, flake.Explanation)
	}

	// The divergences: decided on alone re-runs in both cells (every musl
	// run failed, every glibc run passed), each confirmed by the experiment
	// that flips its factor, against its control.
	for _, w := range []struct {
		pkg, test, experiment, desc string
	}{
		{"stack", "TestDeepCRecursionOnNewThread", "c-stack-8m", "8 MiB C thread stacks"},
		{"image", "TestRunsBashScript", "program-bash", "bash from the passing cell's image"},
	} {
		r := row(t, rep, w.pkg, w.test)
		m, _ := r.Result(muslAMD64)
		g, _ := r.Result(glibcAMD64)
		mAlone, gAlone := m.Outcomes(report.RunAlone), g.Outcomes(report.RunAlone)
		if !r.Divergent || len(mAlone) < 2 || len(mAlone) != len(gAlone) ||
			slices.ContainsFunc(mAlone, func(o testjson.Outcome) bool { return !o.Failed() }) ||
			slices.ContainsFunc(gAlone, func(o testjson.Outcome) bool { return o != testjson.Pass }) {
			t.Errorf("%s: divergent %v, musl alone %v, glibc alone %v: want every musl run failing, every glibc run passing", w.test, r.Divergent, mAlone, gAlone)
		}
		if len(r.Decisions) == 0 || !r.Decisions[0].Holds || r.Decisions[0].PValue > r.Decisions[0].Threshold {
			t.Errorf("%s: decisions %+v", w.test, r.Decisions)
		}
		e := r.Explanation
		if e == nil {
			t.Errorf("%s: no explanation", w.test)
			continue
		}
		t.Logf("%s: %s", w.test, e.Text)
		if !e.Confirmed || e.Experiment != w.experiment || e.Cell != muslAMD64 || e.Passing != glibcAMD64 ||
			!strings.HasPrefix(e.Text, "confirmed: passes ") || !strings.Contains(e.Text, " with "+w.desc+"; unchanged, alone in the same rounds, it fails ") {
			t.Errorf("%s: explanation %+v, want confirmed by %s", w.test, *e, w.experiment)
		}
		if e.Control.Runs != e.RunsPerArm || e.Control.Passes != 0 {
			t.Errorf("%s: control %+v, want %d runs, all failing", w.test, e.Control, e.RunsPerArm)
		}
		// Nothing narrower flips it; the passing libc's whole image (the
		// broadest experiment, tried last) holds the factor too.
		for _, tr := range e.Tried {
			if tr.ID != w.experiment && tr.ID != "libc-image" && tr.Runs > 0 && tr.Passes == tr.Runs {
				t.Errorf("%s: %s passed every run: a factor that does not matter", w.test, tr.ID)
			}
		}
	}
	// Experiments explain; they never change a cell's outcome or verdict.
	if v := rep.Conclusion; v.OK || v.DivergentTests != 2 || v.FlakyTests != 1 || v.FailedTests != 0 || v.Provisional {
		t.Errorf("verdict = %+v, want red with 2 divergent and 1 flaky", v)
	}
	if left := leftovers(t, eng); len(left) > 0 {
		t.Errorf("containers left behind: %v", left)
	}
}

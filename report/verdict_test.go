package report

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/testjson"
)

func TestVerdictOK(t *testing.T) {
	r := synth([]Cell{g26a, m26a}, map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: pass})
	if v := r.Conclusion; !v.OK || len(v.Reasons) != 0 {
		t.Errorf("verdict = %+v, want OK", v)
	}
	r = synth([]Cell{g26a, m26a}, map[string]testjson.Outcome{g26a.Name: skip, m26a.Name: skip})
	if !r.Conclusion.OK {
		t.Errorf("all skipped: verdict = %+v, want OK", r.Conclusion)
	}
}

func TestVerdictAllowDivergence(t *testing.T) {
	// pass vs skip: reported, fails nothing (a skip is the test's own
	// decision).
	r := synth([]Cell{g26a, m26a}, map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: skip})
	if v := r.Verdict(false); !v.OK || v.DivergentTests != 0 || len(r.Divergences) != 1 {
		t.Errorf("Verdict(false) = %+v", v)
	}
	// pass vs fail (one run, --reruns 0: seen, not tested): a divergence,
	// which --allow-divergence forgives.
	r = synth([]Cell{g26a, m26a}, map[string]testjson.Outcome{g26a.Name: pass, m26a.Name: fail})
	if v := r.Verdict(false); v.OK || v.DivergentTests != 1 || !strings.Contains(v.Reasons[0], "diverge") {
		t.Errorf("Verdict(false) = %+v", v)
	}
	if v := r.Verdict(true); !v.OK || v.DivergentTests != 1 {
		t.Errorf("Verdict(true) = %+v, want OK", v)
	}
	// A failure everywhere is a failure, whatever allowDivergence says.
	r = synth([]Cell{g26a, m26a}, map[string]testjson.Outcome{g26a.Name: fail, m26a.Name: fail})
	if v := r.Verdict(true); v.OK || v.FailedTests != 1 {
		t.Errorf("Verdict(true) with a failure = %+v, want not OK", v)
	}
	// The stored conclusion follows the options.
	r.Options.AllowDivergence = true
	r = finish(r)
	if !r.Conclusion.AllowDivergence {
		t.Error("Conclusion ignores Options.AllowDivergence")
	}
}

func TestVerdictCellFailedWithoutFailingTest(t *testing.T) {
	broken := mkCell("1.26.8", "musl", "amd64", false, job.StatusFailed)
	r := synth([]Cell{g26a, broken}, map[string]testjson.Outcome{g26a.Name: pass})
	if v := r.Conclusion; v.OK || !strings.Contains(strings.Join(v.Reasons, "\n"), "failed with no failing test") {
		t.Errorf("verdict = %+v", v)
	}
}

func TestVerdictEmpty(t *testing.T) {
	if v := finish(Report{}).Conclusion; v.OK {
		t.Errorf("no cells: verdict %+v, want not OK", v)
	}
	r := finish(Report{Cells: []Cell{g26a}})
	if v := r.Conclusion; v.OK || !strings.Contains(strings.Join(v.Reasons, "\n"), "no tests ran") {
		t.Errorf("no tests: verdict %+v", v)
	}
}

package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/testjson"
)

// A data race fails the test where -race is on; where it is off the test
// passes. That is a failure of the code with a race cause, not a platform
// divergence (the fixture's racy.TestRacyCounter: glibc/amd64 runs -race).
func TestRaceFailureIsNotADivergence(t *testing.T) {
	r := fixtureReport(t)
	row := findRow(t, r, "example.com/fx/racy", "TestRacyCounter")
	if row.Divergent || !row.Failed {
		t.Errorf("TestRacyCounter: divergent=%v failed=%v, want a failure that does not diverge", row.Divergent, row.Failed)
	}
	if row.Cause == nil || row.Cause.ID != "race" || row.Cause.Generic || row.Cause.EvidenceCell != glibcAMD64.String() {
		t.Errorf("TestRacyCounter cause = %+v, want race with evidence from %s", row.Cause, glibcAMD64)
	}
	for _, d := range r.Divergences {
		if d.Test == "TestRacyCounter" {
			t.Errorf("listed as divergent on %v", d.Axes)
		}
	}
	if !strings.Contains(strings.Join(r.Conclusion.Reasons, "\n"), "racy.TestRacyCounter") && r.Conclusion.FailedTests != 8 {
		t.Errorf("verdict does not count it as failing: %+v", r.Conclusion)
	}
}

// A failure only in race cells without a race report is not a race failure:
// it stays a divergence on the race axis (e.g. a timeout under -race).
func TestRaceAxisWithoutRaceReportStillDiverges(t *testing.T) {
	on := mkCell("1.26.8", "glibc", "amd64", true, job.StatusFailed)
	off := mkCell("1.26.8", "glibc", "arm64", false, job.StatusFailed)
	r := synth([]Cell{on, off}, map[string]testjson.Outcome{on.Name: testjson.Fail, off.Name: testjson.Pass})
	if len(r.Divergences) != 1 || r.Divergences[0].Axes[0] != AxisArch {
		t.Fatalf("divergences = %+v", r.Divergences)
	}
}

func forgedCell(t *testing.T, count int, capture string) Report {
	t.Helper()
	meta := fixtureMeta()
	meta.Options.Count = count
	res := job.Result{Cell: glibcAMD64, Status: job.StatusFailed, Steps: steps(1, ""), TestJSON: capture}
	return Build(meta, Runs{Cells: []job.Result{res}})
}

// go126-forged.json: a test wrote test2json events into go test's stdout.
// The forged events are not applied, the cell lists each, the verdict fails
// and says so.
func TestForgedStreamIsTampered(t *testing.T) {
	r := forgedCell(t, 1, capture(t, "go126-forged.json"))
	c := r.Cells[0]
	if len(c.Tampered) != 10 {
		t.Fatalf("tampered = %+v", c.Tampered)
	}
	row := findRow(t, r, "example.com/forge/b", "TestBFails")
	if res, _ := row.Result(glibcAMD64.String()); res.Flaky || res.Outcome != testjson.Fail || !row.Failed {
		t.Errorf("TestBFails = %+v, want a failure, not flaky", res)
	}
	for _, name := range [][2]string{{"example.com/forge/ghost", "TestMadeUp"}, {"example.com/forge/b", "TestNeverRan"}} {
		for _, row := range r.Tests {
			if row.Package == name[0] && row.Test == name[1] {
				t.Errorf("forged test %s.%s reported", name[0], name[1])
			}
		}
	}
	if a := findRow(t, r, "example.com/forge/a", "TestAFails"); !a.Failed {
		t.Errorf("a.TestAFails no longer fails")
	}
	v := r.Conclusion
	if v.OK || v.TamperedCells != 1 || !strings.Contains(strings.Join(v.Reasons, "\n"), "cell go1.26.8/glibc/amd64: a test forged go test's output (10 events") {
		t.Errorf("verdict = %+v", v)
	}
	// An honest stream with -count=2 has two runs per test and no finding.
	if r := forgedCell(t, 2, capture(t, "go126-count2.json")); len(r.Cells[0].Tampered) != 0 || r.Conclusion.TamperedCells != 0 {
		t.Errorf("count2: %+v", r.Cells[0].Tampered)
	}
}

// A forged second run that mimics test2json to the letter (run, output,
// pass) cannot be told from a real one in the stream, but go test runs each
// test -count times: with -count=1 a second run is forged (here, to make a
// real failure look flaky, which would stop failing the verdict).
func TestForgedRunBeyondCount(t *testing.T) {
	ev := func(action, test, out string) string {
		return fmt.Sprintf(`{"Action":%q,"Package":"m/p","Test":%q,"Output":%q}`+"\n", action, test, out)
	}
	stream := ev("start", "", "") +
		ev("run", "TestX", "") + ev("output", "TestX", "=== RUN   TestX\n") + ev("output", "TestX", "    x_test.go:3: real\n") +
		ev("output", "TestX", "--- FAIL: TestX (0.00s)\n") + ev("fail", "TestX", "") +
		// forged, to the letter
		ev("run", "TestX", "") + ev("output", "TestX", "=== RUN   TestX\n") + ev("output", "TestX", "--- PASS: TestX (0.00s)\n") + ev("pass", "TestX", "") +
		ev("output", "", "FAIL\tm/p\t0.01s\n") + ev("fail", "", "")
	for count, want := range map[int]int{0: 1, 1: 1, 2: 0} {
		r := forgedCell(t, count, stream)
		res, _ := findRow(t, r, "m/p", "TestX").Result(glibcAMD64.String())
		if got := len(r.Cells[0].Tampered); got != want {
			t.Errorf("-count=%d: findings %+v, want %d", count, r.Cells[0].Tampered, want)
		}
		if want == 1 && (res.Flaky || res.Outcome != testjson.Fail || r.Cells[0].Tampered[0].Reason != "2 runs of TestX with -count=1") {
			t.Errorf("-count=%d: TestX = %+v, finding %+v", count, res, r.Cells[0].Tampered)
		}
		if want == 0 && !res.Flaky {
			t.Errorf("-count=2: TestX not flaky: %+v", res)
		}
	}
}

// go126-cached.json: every package replayed from go test's cache.
func TestCachedResults(t *testing.T) {
	r := forgedCell(t, 0, capture(t, "go126-cached.json"))
	if n := r.Cells[0].Counts.Cached; n != 2 {
		t.Errorf("cached count = %d, want 2", n)
	}
	for _, row := range r.Tests {
		if res, _ := row.Result(glibcAMD64.String()); !res.Cached {
			t.Errorf("%s %s: not marked cached", row.Package, row.Test)
		}
	}
	if n := fixtureReport(t).Cells[0].Counts.Cached; n != 0 {
		t.Errorf("fixture cached = %d", n)
	}
}

// A cell stopped by the machine (killed, out of memory, ...) is not
// compared, and the tests it left running are not failures.
func TestInfrastructureCellCutShort(t *testing.T) {
	// The stream as it was when the container died: TestSleeps running,
	// TestParallelWaits paused, the package not ended.
	lines := strings.SplitAfter(capture(t, "go126-timeout.json"), "\n")
	cut := strings.Join(lines[:11], "")
	if !strings.Contains(lines[10], `"Action":"output","Package":"example.com/fx/slow","Test":"TestSleeps","Output":"=== RUN`) {
		t.Fatalf("capture changed: %s", lines[10])
	}
	for _, st := range []job.Status{job.StatusKilled, job.StatusOutOfMemory, job.StatusResourceLimit, job.StatusRuntimeLost, job.StatusCancelled} {
		res := job.Result{Cell: glibcAMD64, Status: st, Message: "reason for " + string(st), Steps: steps(137, ""), TestJSON: cut}
		pass := job.Result{Cell: muslAMD64, Status: job.StatusPassed, Steps: steps(0, ""), TestJSON: capture(t, "go126-timeout.json")}
		r := Build(fixtureMeta(), Runs{Cells: []job.Result{res, pass}})
		if got, _ := findRow(t, r, "example.com/fx/slow", "TestSleeps").Result(glibcAMD64.String()); got.Outcome != testjson.NotRun {
			t.Errorf("%s: TestSleeps = %s, want not-run (cut short)", st, got.Outcome)
		}
		for _, row := range r.Tests {
			got, _ := row.Result(glibcAMD64.String())
			if got.Outcome.Failed() {
				t.Errorf("%s: %s.%s = %s in a cell cut short", st, row.Package, row.Test, got.Outcome)
			}
			if row.Divergent {
				t.Errorf("%s: %s.%s diverges", st, row.Package, row.Test)
			}
		}
		if !strings.Contains(strings.Join(r.Conclusion.Reasons, "\n"), "did not run to the end: "+string(st)+": reason for "+string(st)) {
			t.Errorf("%s: reasons %q", st, r.Conclusion.Reasons)
		}
	}
}

// testdata/racesub: real output of a subtest racing (src), with -race
// (race.json) and without (norace.json). The parent fails only through the
// subtest and its own output has no race report: it is a race failure too.
func TestRaceInSubtestFailsItsParentNotDivergent(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "racesub", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	r := Build(Meta{}, Runs{Cells: []job.Result{
		{Cell: glibcAMD64, Status: job.StatusFailed, Race: true, Steps: steps(1, ""), TestJSON: read("race.json")},
		{Cell: glibcARM64, Status: job.StatusPassed, Steps: steps(0, ""), TestJSON: read("norace.json")},
	}})

	if len(r.Divergences) != 0 {
		t.Errorf("divergences: %+v", r.Divergences)
	}
	for _, name := range []string{"TestParent", "TestParent/racy"} {
		row := findRow(t, r, "example.com/racesub/r", name)
		if !row.Failed || row.Cause == nil || row.Cause.ID != "race" {
			t.Errorf("%s: failed=%v cause=%+v, want a race failure", name, row.Failed, row.Cause)
		}
	}
}

package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/testjson"
)

func TestBuildSortsCellsInMatrixOrder(t *testing.T) {
	r := fixtureReport(t)
	var got []string
	for _, c := range r.Cells {
		got = append(got, c.Name)
	}
	want := []string{"go1.26.8/glibc/amd64", "go1.26.8/glibc/arm64", "go1.26.8/musl/amd64", "go1.22.12/musl/amd64"}
	if !slices.Equal(got, want) {
		t.Errorf("cells = %v, want %v", got, want)
	}
	if r.SchemaVersion != SchemaVersion || r.Source.Module != "example.com/fx" || r.Tool.Name != "parity" {
		t.Errorf("header = %d %+v %+v", r.SchemaVersion, r.Source, r.Tool)
	}
}

func TestBuildDivergences(t *testing.T) {
	r := fixtureReport(t)
	type want struct {
		axes  []string
		cause string
		mild  bool
		bad   []string // cells on the failing (or skipping) side
	}
	wants := map[string]want{
		"cgostack.TestDeepCStack":        {[]string{AxisLibc}, "musl-thread-stack", false, []string{"go1.26.8/musl/amd64"}},
		"platform.TestFusedMultiplyAdd":  {[]string{AxisArch}, "float-fma", false, []string{"go1.26.8/glibc/arm64"}},
		"platform.TestPrintfNullPointer": {[]string{AxisLibc}, "axis-libc", false, []string{"go1.26.8/musl/amd64"}},
		"platform.TestRunsBash":          {[]string{AxisLibc}, "missing-executable", false, []string{"go1.26.8/musl/amd64"}},
		"platform.TestSkipsWithoutBash":  {[]string{AxisLibc}, "missing-executable", true, []string{"go1.26.8/musl/amd64"}},
	}
	got := map[string]Divergence{}
	for _, d := range r.Divergences {
		got[strings.TrimPrefix(d.Package, "example.com/fx/")+"."+d.Test] = d
	}
	for name, w := range wants {
		d, ok := got[name]
		if !ok {
			t.Errorf("%s: no divergence", name)
			continue
		}
		if !slices.Equal(d.Axes, w.axes) {
			t.Errorf("%s: axes %v, want %v", name, d.Axes, w.axes)
		}
		if d.Cause.ID != w.cause {
			t.Errorf("%s: cause %s (%s), want %s", name, d.Cause.ID, d.Cause.Evidence, w.cause)
		}
		if d.Mild != w.mild {
			t.Errorf("%s: mild %v, want %v", name, d.Mild, w.mild)
		}
		if bad := d.Outcomes[len(d.Outcomes)-1]; w.mild && !slices.Equal(bad.Cells, w.bad) {
			t.Errorf("%s: skipping cells %v, want %v", name, bad.Cells, w.bad)
		} else if first := d.Outcomes[0]; !w.mild && !slices.Equal(first.Cells, w.bad) {
			t.Errorf("%s: failing cells %v, want %v", name, first.Cells, w.bad)
		}
	}
	for name := range got {
		if _, ok := wants[name]; !ok {
			t.Errorf("unexpected divergence %s", name)
		}
	}
	// The rows agree with the divergence list; a pass against a skip is
	// listed, and fails nothing.
	for _, row := range r.Tests {
		d, listed := got[strings.TrimPrefix(row.Package, "example.com/fx/")+"."+row.Test]
		if row.Divergent != (listed && !d.Mild) {
			t.Errorf("row %s.%s: Divergent=%v, listed=%v", row.Package, row.Test, row.Divergent, listed)
		}
	}
}

func TestBuildNotRunIsNotCompared(t *testing.T) {
	r := fixtureReport(t)
	// The musl crash killed cgostack's binary before TestAfterCrash: it has
	// no result there and passes elsewhere. That is not a divergence.
	row := findRow(t, r, "example.com/fx/cgostack", "TestAfterCrash")
	if _, ok := row.Result("go1.26.8/musl/amd64"); ok {
		t.Error("TestAfterCrash has a result on musl")
	}
	if row.Divergent || row.Failed {
		t.Errorf("TestAfterCrash: divergent=%v failed=%v, want neither", row.Divergent, row.Failed)
	}
	musl := findCell(t, r, "go1.26.8/musl/amd64")
	if musl.Counts.NotRun != 1 || musl.Counts.Crashed != 1 {
		t.Errorf("musl counts = %+v, want 1 not-run, 1 crashed", musl.Counts)
	}
	// The not-runnable cell has no results and is not compared.
	old := findCell(t, r, "go1.22.12/musl/amd64")
	if old.RanTests() || old.Counts != (Counts{}) {
		t.Errorf("old cell: ran=%v counts=%+v", old.RanTests(), old.Counts)
	}
}

func TestBuildCounts(t *testing.T) {
	r := fixtureReport(t)
	for name, want := range map[string]Counts{
		// basic: pass 2 (TestPass, TestTable/ok), fail 3, skip 2; platform 5;
		// cgostack 2; racy 2.
		"go1.26.8/glibc/amd64": {Pass: 10, Fail: 4, Skip: 2},
		"go1.26.8/glibc/arm64": {Pass: 10, Fail: 4, Skip: 2},
		"go1.26.8/musl/amd64":  {Pass: 6, Fail: 5, Skip: 3, Crashed: 1, NotRun: 1},
	} {
		if got := findCell(t, r, name).Counts; got != want {
			t.Errorf("%s counts = %+v, want %+v", name, got, want)
		}
	}
}

func TestBuildCellFields(t *testing.T) {
	r := fixtureReport(t)
	c := findCell(t, r, "go1.26.8/glibc/amd64")
	if !c.Race || c.Runtime != "docker" || c.PlatformDigest == "" || c.DurationSeconds != 23.5 || c.CPUSeconds != 31.7 {
		t.Errorf("cell = %+v", c)
	}
	if len(c.Steps) != 4 || c.Steps[3].Name != job.StepTest || c.Steps[3].DurationSeconds != 14 {
		t.Errorf("steps = %+v", c.Steps)
	}
	if len(c.Decisions) != 2 || c.Decisions[0].Policy != "race" {
		t.Errorf("decisions = %+v", c.Decisions)
	}
	if c.Probe["libc"] != "glibc 2.36" {
		t.Errorf("probe = %v", c.Probe)
	}
}

func TestBuildVerdict(t *testing.T) {
	r := fixtureReport(t)
	v := r.Conclusion
	// racy.TestRacyCounter is a race failure, not a divergence; a
	// divergent test is counted as divergent, not also as failed, and a
	// pass against a skip fails nothing.
	if v.OK || v.FailedTests != 3 || v.DivergentTests != 4 || v.CellsNotRun != 1 {
		t.Errorf("verdict = %+v", v)
	}
	joined := strings.Join(v.Reasons, "\n")
	for _, want := range []string{"3 tests failed", "go1.22.12/musl/amd64 did not run to the end: not-runnable: toolchain too old", "4 tests diverge"} {
		if !strings.Contains(joined, want) {
			t.Errorf("reasons lack %q:\n%s", want, joined)
		}
	}
}

func TestBuildKeepsOutput(t *testing.T) {
	r := fixtureReport(t)
	res, _ := findRow(t, r, "example.com/fx/racy", "TestRacyCounter").Result("go1.26.8/glibc/amd64")
	if !strings.Contains(res.Output, "WARNING: DATA RACE") || res.ElapsedSeconds < 0 {
		t.Errorf("race output not kept: %q", res.Output)
	}
}

// A package that did not build: one package row with the build output, its
// tests absent; with Go 1.23 the build output comes from the test step's
// stderr.
func TestBuildBuildFailure(t *testing.T) {
	stdout := capture(t, "go123-outcomes.json")
	stderr := capture(t, "go123-outcomes.stderr")
	res := job.Result{Cell: muslAMD64, Status: job.StatusFailed, TestJSON: stdout, Steps: []job.StepResult{{Name: job.StepTest, ExitCode: 1, Stderr: stderr}}}
	r := Build(fixtureMeta(), Runs{Cells: []job.Result{res}})
	row := findRow(t, r, "example.com/fx/broken", "")
	got, _ := row.Result(muslAMD64.String())
	if got.Outcome != testjson.BuildFail || !strings.Contains(got.Output, "cannot use Answer()") {
		t.Errorf("broken package row = %+v", got)
	}
	if !row.Failed {
		t.Error("build failure row not failed")
	}
	if c := r.Cells[0]; c.Counts.BuildFail != 1 || c.Counts.Panic != 1 {
		t.Errorf("counts = %+v, want 1 build failure and 1 panic", c.Counts)
	}
	for _, row := range r.Tests {
		if row.Package == "example.com/fx/broken" && !row.IsPackage() {
			t.Errorf("test row %s for a package that did not build", row.Test)
		}
	}
}

// A cell killed for time: its running test timed out rather than crashed.
func TestBuildCellTimeout(t *testing.T) {
	raw := capture(t, "go126-timeout.json")
	cut := raw[:strings.Index(raw, "panic: test timed out")]
	cut = cut[:strings.LastIndex(cut, "\n")+1]
	res := job.Result{Cell: glibcAMD64, Status: job.StatusTimeout, Message: "cell timed out after 1m", TestJSON: cut}
	r := Build(fixtureMeta(), Runs{Cells: []job.Result{res}})
	got, _ := findRow(t, r, "example.com/fx/slow", "TestSleeps").Result(glibcAMD64.String())
	if got.Outcome != testjson.Timeout {
		t.Errorf("TestSleeps = %v, want timeout", got.Outcome)
	}
	if v := r.Conclusion; v.OK || v.CellsNotRun != 1 {
		t.Errorf("verdict = %+v", v)
	}
	// Without the cell timing out, the same stream is a crash.
	res.Status = job.StatusFailed
	r = Build(fixtureMeta(), Runs{Cells: []job.Result{res}})
	got, _ = findRow(t, r, "example.com/fx/slow", "TestSleeps").Result(glibcAMD64.String())
	if got.Outcome != testjson.Crashed {
		t.Errorf("TestSleeps = %v, want crashed", got.Outcome)
	}
}

func TestBuildShuffleSeedsAndRepeatedRuns(t *testing.T) {
	res := job.Result{Cell: glibcAMD64, Status: job.StatusFailed, TestJSON: capture(t, "go126-shuffle.json")}
	c := Build(fixtureMeta(), Runs{Cells: []job.Result{res}}).Cells[0]
	if len(c.ShuffleSeeds) != 2 || c.ShuffleSeeds["example.com/fx/basic"] == 0 {
		t.Errorf("shuffle seeds = %v", c.ShuffleSeeds)
	}
	res.TestJSON = capture(t, "go126-count2.json")
	meta := fixtureMeta()
	meta.Options.Count = 2 // as the capture was made
	r := Build(meta, Runs{Cells: []job.Result{res}})
	row := findRow(t, r, "example.com/fx/flaky", "TestFlaky")
	got, _ := row.Result(glibcAMD64.String())
	if !row.Flaky || !got.Flaky || !slices.Equal(got.Runs, []testjson.Outcome{testjson.Fail, testjson.Pass}) {
		t.Errorf("TestFlaky row flaky=%v result %+v", row.Flaky, got)
	}
	if row.Cause == nil || row.Cause.ID != "flaky" {
		t.Errorf("TestFlaky cause = %+v, want flaky", row.Cause)
	}
	if n := r.Cells[0].Counts.Flaky; n != 1 {
		t.Errorf("flaky count = %d", n)
	}
}

func TestBuildStepStderrTail(t *testing.T) {
	var lines []string
	for i := range 50 {
		lines = append(lines, "line "+strings.Repeat("x", i%3))
	}
	lines = append(lines, "verifying example.com/dep@v1.0.0: checksum mismatch")
	res := job.Result{
		Cell: glibcAMD64, Status: job.StatusDepsFailed, Message: "go mod verify failed",
		Steps: []job.StepResult{{Name: job.StepDeps, ExitCode: 1, Stderr: strings.Join(lines, "\n") + "\n", Duration: time.Second}},
	}
	c := Build(fixtureMeta(), Runs{Cells: []job.Result{res}}).Cells[0]
	tail := c.Steps[0].StderrTail
	if n := strings.Count(tail, "\n"); n != stderrTailLines-1 || !strings.HasSuffix(tail, "checksum mismatch") {
		t.Errorf("stderr tail (%d newlines) = %q", n, tail)
	}
}

func TestBuildIsPure(t *testing.T) {
	a, b := fixtureReport(t), fixtureReport(t)
	var ja, jb strings.Builder
	if err := a.WriteJSON(&ja); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	if ja.String() != jb.String() {
		t.Error("two builds of the same input differ")
	}
	results := fixtureResults(t)
	slices.Reverse(results)
	var jc strings.Builder
	if err := Build(fixtureMeta(), Runs{Cells: results}).WriteJSON(&jc); err != nil {
		t.Fatal(err)
	}
	if jc.String() != ja.String() {
		t.Error("the order of results changes the report")
	}
}

func findRow(t *testing.T, r Report, pkg, test string) TestRow {
	t.Helper()
	for _, row := range r.Tests {
		if row.Package == pkg && row.Test == test {
			return row
		}
	}
	t.Fatalf("no row %s %q", pkg, test)
	return TestRow{}
}

func findCell(t *testing.T, r Report, name string) Cell {
	t.Helper()
	for _, c := range r.Cells {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cell %s", name)
	return Cell{}
}

// The report is a pure function of all runs: reports built on the way (to
// decide what to re-run) change nothing, a merge of the report is the
// report, and each result keeps its re-runs in the order they ran.
func TestBuildOnceFromAllRuns(t *testing.T) {
	pkg, test := "example.com/fx/platform", "TestPrintfNullPointer"
	mu, gl := muslAMD64.String(), glibcAMD64.String()
	all := Runs{
		Cells: fixtureResults(t),
		Reruns: []RerunOf{
			{Package: pkg, Test: test, Cell: mu, Rerun: Rerun{Kind: RunAlone, Index: 1, Outcome: testjson.Fail}},
			{Package: pkg, Test: test, Cell: gl, Rerun: Rerun{Kind: RunAlone, Index: 1, Outcome: testjson.Pass}},
			{Package: pkg, Test: test, Cell: mu, Rerun: Rerun{Kind: RunAlone, Index: 2, Outcome: testjson.Pass}},
			{Package: pkg, Test: test, Cell: gl, Rerun: Rerun{Kind: RunAlone, Index: 2, Outcome: testjson.Pass}},
			{Package: pkg, Test: test, Cell: mu, Rerun: Rerun{Kind: RunControl, Index: 1, Outcome: testjson.Fail, Towards: gl}},
		},
	}
	asJSON := func(r Report) string {
		var b strings.Builder
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	want := asJSON(Build(fixtureMeta(), all))
	Build(fixtureMeta(), Runs{Cells: all.Cells})
	Build(fixtureMeta(), Runs{Cells: all.Cells, Reruns: all.Reruns[:2]})
	Build(fixtureMeta(), Runs{Cells: all.Cells, Reruns: append(slices.Clone(all.Reruns[1:]), all.Reruns[0])})
	r := Build(fixtureMeta(), all)
	if got := asJSON(r); got != want {
		t.Fatal("a report built on the way changed the final one")
	}
	m, err := Merge(r)
	if err != nil {
		t.Fatal(err)
	}
	m.MergedFrom = nil // the merge's record of what it merged
	if asJSON(m) != want {
		t.Fatal("a merge of the report differs from the report")
	}
	row := findRow(t, r, pkg, test)
	res, _ := row.Result(mu)
	if got := allRuns(res); !slices.Equal(got, []testjson.Outcome{testjson.Fail, testjson.Fail, testjson.Pass}) || !res.Flaky {
		t.Errorf("musl runs %v flaky %v: want [fail fail pass], flaky", got, res.Flaky)
	}
}

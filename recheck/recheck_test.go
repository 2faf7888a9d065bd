package recheck

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

var (
	glibc = matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	musl  = matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	arm   = matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}
)

// spec is a planned cell as policies.Plan makes one: setup, probe, deps, test.
func spec(c matrix.Cell, race bool, image string) job.Spec {
	test := []string{"go", "test", "-json"}
	if race {
		test = append(test, "-race")
	}
	test = append(test, "-count=3", "-shuffle=on", "-timeout=2m0s", "-run=^Test", "-tags=a,b", "./...")
	return job.Spec{
		Cell: c, Image: image, Platform: c.Platform(), Race: race,
		Env:         []string{"CGO_ENABLED=1", "GOFLAGS=-mod=readonly", "TZ=UTC"},
		Mounts:      []job.Mount{{Kind: job.MountSource, Target: "/src", ReadOnly: true}, {Kind: job.MountCache, Target: "/cache/gomod", Name: "parity-" + c.Key() + "-gomod"}},
		Decisions:   []job.Decision{{Policy: "race", Effect: "on"}},
		MemoryBytes: 1 << 30,
		Steps: []job.Step{
			{Name: job.StepSetup, Args: []string{"sh", "-c", "setup"}, Network: true, Root: true},
			{Name: job.StepProbe, Args: []string{"sh", "-c", "probe"}},
			{Name: job.StepDeps, Args: []string{"sh", "-c", "go mod download && go mod verify"}, Network: true},
			{Name: job.StepTest, Args: test, Env: []string{"GOPROXY=off"}},
		},
	}
}

func cellOf(c matrix.Cell, race bool, st job.Status) report.Cell {
	return report.Cell{Cell: c, Name: c.String(), Race: race, Status: st}
}

// firstReport: TestLibc diverges (musl fails), TestTable/neg fails in
// glibc/amd64 only, TestOK passes everywhere, and the arm64 cell could not
// run its tests.
func firstReport() report.Report {
	res := func(c matrix.Cell, o testjson.Outcome) report.Result {
		return report.Result{Cell: c.String(), Outcome: o}
	}
	return report.Report{
		Cells: []report.Cell{cellOf(glibc, true, job.StatusFailed), cellOf(musl, true, job.StatusFailed), cellOf(arm, false, job.StatusError)},
		Tests: []report.TestRow{
			{Package: "ex/a", Test: ""},
			{Package: "ex/a", Test: "TestLibc", Failed: true, Divergent: true, Results: []report.Result{res(glibc, testjson.Pass), res(musl, testjson.Fail)}},
			{Package: "ex/a", Test: "TestOK", Results: []report.Result{res(glibc, testjson.Pass), res(musl, testjson.Pass)}},
			{Package: "ex/b", Test: "TestTable/neg", Failed: true, Results: []report.Result{res(glibc, testjson.Fail), res(musl, testjson.Pass), res(arm, testjson.Fail)}},
			{Package: "ex/b", Test: "TestTable/pos", Results: []report.Result{res(glibc, testjson.Pass), res(musl, testjson.Pass)}},
		},
	}
}

func TestPlanRerunsSelectsTestsPerCell(t *testing.T) {
	specs := []job.Spec{spec(glibc, true, "img-g"), spec(musl, true, "img-m"), spec(arm, false, "img-g")}
	runs := PlanReruns(firstReport(), specs, 2, "n0nce")
	if len(runs) != 4 {
		t.Fatalf("%d runs, want 2 cells x 2 attempts (arm64 ran no tests)", len(runs))
	}
	for _, r := range runs {
		if r.Cell == arm.String() {
			t.Fatal("re-ran a cell that did not run its tests")
		}
		want := []Target{{"ex/a", "TestLibc"}, {"ex/b", "TestTable/neg"}}
		if !slices.Equal(r.Targets, want) {
			t.Fatalf("%s targets = %v, want %v", r.Label(), r.Targets, want)
		}
		s := r.Spec
		if len(s.Steps) != 2 || s.Steps[0].Name != job.StepSetup || s.Steps[1].Name != job.StepTest || s.Steps[1].Network {
			t.Fatalf("steps = %+v, want setup and an offline test", s.Steps)
		}
		if s.Image != specs[0].Image && s.Image != specs[1].Image || s.MemoryBytes != 1<<30 || len(s.Mounts) != 2 || len(s.Decisions) != 1 {
			t.Fatalf("the re-run lost the cell's image, limits, mounts or decisions: %+v", s)
		}
		script := strings.Join(s.Steps[1].Args, " ")
		for _, want := range []string{"go test -json -race -timeout=2m0s -tags=a,b -count=1 '-run=^(TestLibc)$' ex/a || rc=1", "'-run=^(TestTable)$' ex/b || rc=1", "exit $rc"} {
			if !strings.Contains(script, want) {
				t.Errorf("test step %q lacks %q", script, want)
			}
		}
		for _, gone := range []string{"-count=3", "-shuffle", "-run=^Test ", "./..."} {
			if strings.Contains(script, gone) {
				t.Errorf("test step %q keeps %q", script, gone)
			}
		}
	}
	if runs[0].Attempt != 1 || runs[3].Attempt != 2 {
		t.Fatalf("attempts %d..%d", runs[0].Attempt, runs[3].Attempt)
	}
	if runs[0].Spec.Steps[1].Env[len(runs[0].Spec.Steps[1].Env)-1] != "PARITY_RERUN=n0nce-1" || !slices.Contains(runs[3].Spec.Steps[1].Env, "PARITY_RERUN=n0nce-2") {
		t.Fatalf("re-runs are not told apart for step caches: %v", runs[3].Spec.Steps[1].Env)
	}
	if PlanReruns(firstReport(), specs, 0, "") != nil {
		t.Fatal("--reruns 0 re-ran something")
	}
}

func TestReduceOnePackageIsPlainGoTest(t *testing.T) {
	s := Reduce(spec(musl, false, "img"), []Target{{"ex/a", "TestX/sub"}, {"ex/a", "TestA"}, {"ex/a", "TestX"}}, Change{})
	want := []string{"go", "test", "-json", "-timeout=2m0s", "-tags=a,b", "-count=1", "-run=^(TestA|TestX)$", "ex/a"}
	if got := s.Steps[1].Args; !slices.Equal(got, want) {
		t.Fatalf("args = %q, want %q", got, want)
	}
}

// result is a runner result whose test step printed these test2json lines.
func result(c matrix.Cell, st job.Status, lines ...string) job.Result {
	out := strings.Join(lines, "\n") + "\n"
	return job.Result{Cell: c, Status: st, TestJSON: out, Steps: []job.StepResult{{Name: job.StepTest, Stdout: out}}}
}

func ev(action, pkg, test string) string {
	if test == "" {
		return `{"Action":"` + action + `","Package":"` + pkg + `"}`
	}
	return `{"Action":"` + action + `","Package":"` + pkg + `","Test":"` + test + `"}`
}

func TestReadRerunsReadsSubtestsAndSkipsBrokenRuns(t *testing.T) {
	runs := []Run{
		{Cell: musl.String(), Targets: []Target{{"ex/a", "TestLibc"}, {"ex/b", "TestTable/neg"}}, Attempt: 1},
		{Cell: musl.String(), Targets: []Target{{"ex/a", "TestLibc"}}, Attempt: 2},
		{Cell: glibc.String(), Targets: []Target{{"ex/a", "TestLibc"}}, Attempt: 1},
	}
	results := []job.Result{
		result(musl, job.StatusFailed,
			ev("run", "ex/a", "TestLibc"), ev("fail", "ex/a", "TestLibc"), ev("fail", "ex/a", ""),
			ev("run", "ex/b", "TestTable"), ev("run", "ex/b", "TestTable/neg"), ev("pass", "ex/b", "TestTable/neg"), ev("pass", "ex/b", "TestTable"), ev("pass", "ex/b", "")),
		{Cell: musl, Status: job.StatusError, Message: "docker: daemon gone"},
		result(glibc, job.StatusPassed, ev("run", "ex/a", "TestLibc"), ev("pass", "ex/a", "TestLibc"), ev("pass", "ex/a", "")),
	}
	got := ReadReruns(runs, results)
	want := []report.Rerun{
		{Package: "ex/a", Test: "TestLibc", Cell: glibc.String(), Outcome: testjson.Pass},
		{Package: "ex/a", Test: "TestLibc", Cell: musl.String(), Outcome: testjson.Fail},
		{Package: "ex/b", Test: "TestTable/neg", Cell: musl.String(), Outcome: testjson.Pass},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reruns = %+v\nwant %+v", got, want)
	}
}

func divergentReport() report.Report {
	res := func(c matrix.Cell, o testjson.Outcome) report.Result {
		return report.Result{Cell: c.String(), Outcome: o}
	}
	first := report.Report{
		SchemaVersion: report.SchemaVersion,
		Cells:         []report.Cell{cellOf(glibc, true, job.StatusPassed), cellOf(musl, true, job.StatusFailed), cellOf(arm, false, job.StatusPassed)},
		Tests: []report.TestRow{
			{Package: "ex/a", Test: "TestLibc", Results: []report.Result{res(glibc, testjson.Pass), res(musl, testjson.Crashed), res(arm, testjson.Pass)}},
			{Package: "ex/a", Test: "TestRace", Results: []report.Result{res(glibc, testjson.Fail), res(musl, testjson.Fail), res(arm, testjson.Pass)}},
			{Package: "ex/a", Test: "TestMild", Results: []report.Result{res(glibc, testjson.Pass), res(musl, testjson.Skip), res(arm, testjson.Pass)}},
		},
	}
	return derive(first)
}

func TestExperimentsFollowTheAxis(t *testing.T) {
	rep := divergentReport()
	subjects := Subjects(rep)
	want := []Subject{
		{Target: Target{"ex/a", "TestLibc"}, Fail: musl.String(), Pass: glibc.String(), Failures: 1, Runs: 1}, // closest passing cell: only libc differs
		{Target: Target{"ex/a", "TestRace"}, Fail: glibc.String(), Pass: arm.String(), Failures: 1, Runs: 1},
	}
	if !slices.Equal(subjects, want) {
		t.Fatalf("subjects = %+v, want %+v (a pass/skip divergence has nothing to explain)", subjects, want)
	}
	specs := []job.Spec{spec(glibc, true, "golang:glibc@sha256:g"), spec(musl, true, "golang:musl@sha256:m"), spec(arm, false, "golang:glibc@sha256:g")}
	runs := PlanExperiments(rep, specs, nil, subjects, Experiments)
	byTest := map[string][]string{}
	for _, r := range runs {
		byTest[r.Targets[0].Test] = append(byTest[r.Targets[0].Test], r.Trial)
		if r.Cell != map[string]string{"TestLibc": musl.String(), "TestRace": glibc.String()}[r.Targets[0].Test] {
			t.Errorf("%s ran in %s, not where it failed", r.Trial, r.Cell)
		}
	}
	if got := byTest["TestLibc"]; !slices.Contains(got, "c-stack-8m") || !slices.Contains(got, "program-bash") || slices.Contains(got, "race-off") {
		t.Errorf("libc experiments = %v", got)
	}
	// TestRace follows arch and race: the race flip applies, and a file
	// copied from the arm64 image (same reference, another platform) too.
	if got := byTest["TestRace"]; !slices.Contains(got, "race-off") || slices.Contains(got, "c-stack-8m") || !slices.Contains(got, "file-passwd") {
		t.Errorf("race experiments = %v", got)
	}
	for _, r := range runs {
		test := r.Spec.Steps[len(r.Spec.Steps)-1]
		args := strings.Join(test.Args, " ")
		switch r.Trial {
		case "race-off":
			if strings.Contains(args, "-race") || r.Spec.Race {
				t.Errorf("race-off still races: %s", args)
			}
		case "c-stack-8m":
			if !slices.Contains(test.Args, "-ldflags=-linkmode=external -extldflags=-Wl,-z,stack-size=8388608") {
				t.Errorf("c-stack args %q", test.Args)
			}
		case "cgo-flip":
			if !slices.Contains(test.Env, "CGO_ENABLED=0") || strings.Contains(args, "-race") {
				t.Errorf("cgo-flip env %v args %s", test.Env, args)
			}
		case "zoneinfo-go":
			if !strings.Contains(args, `export ZONEINFO="$(go env GOROOT)/lib/time/zoneinfo.zip"`) {
				t.Errorf("zoneinfo args %s", args)
			}
		case "program-bash":
			if r.Targets[0].Test != "TestLibc" {
				t.Errorf("an arm64 bash offered to an amd64 cell")
			}
			m := r.Spec.Mounts[len(r.Spec.Mounts)-1]
			if m.Kind != job.MountImagePath || m.Image != "golang:glibc@sha256:g" || m.Platform != "linux/amd64" || m.Path != "/usr/bin/bash" || !m.ReadOnly {
				t.Errorf("bash mount %+v", m)
			}
		}
	}
}

func TestExplainConfirmsWithTheFirstPassingExperiment(t *testing.T) {
	s := Subject{Target: Target{"ex/a", "TestLibc"}, Fail: musl.String(), Pass: glibc.String()}
	runs := []Run{
		{Cell: s.Fail, Targets: []Target{s.Target}, Trial: "cgo-flip"},
		{Cell: s.Fail, Targets: []Target{s.Target}, Trial: "c-stack-8m"},
		{Cell: s.Fail, Targets: []Target{s.Target}, Trial: "program-bash"},
	}
	results := []job.Result{
		result(musl, job.StatusPassed, ev("run", "ex/a", "TestLibc"), ev("skip", "ex/a", "TestLibc"), ev("pass", "ex/a", "")),
		result(musl, job.StatusPassed, ev("run", "ex/a", "TestLibc"), ev("pass", "ex/a", "TestLibc"), ev("pass", "ex/a", "")),
		{Cell: musl, Status: job.StatusError, Message: "copy /usr/bin/bash: no such file"},
	}
	e := Explain([]Subject{s}, runs, results, Experiments)[[2]string{"ex/a", "TestLibc"}]
	if !e.Confirmed || e.Experiment != "c-stack-8m" || e.Text != "confirmed: passes 1 of 1 runs on go1.26.8/musl/amd64 with 8 MiB C thread stacks" {
		t.Fatalf("explanation = %+v (a skip proves nothing)", e)
	}
	if len(e.Tried) != 3 || e.Tried[2].Error == "" || e.Tried[0].Outcome != testjson.Skip {
		t.Fatalf("tried = %+v", e.Tried)
	}
	none := Explain([]Subject{s}, runs[:1], results[:1], Experiments)[[2]string{"ex/a", "TestLibc"}]
	if none.Confirmed || none.Text != "not confirmed: tried CGO_ENABLED flipped (skip)" {
		t.Fatalf("unconfirmed = %+v", none)
	}
}

func TestShouldExplain(t *testing.T) {
	for _, c := range []struct {
		mode ExplainMode
		n    int
		want bool
	}{{ExplainAuto, 10, true}, {ExplainAuto, 11, false}, {ExplainAuto, 0, false}, {ExplainOn, 50, true}, {ExplainOff, 1, false}, {"", 1, false}} {
		if got := ShouldExplain(c.mode, c.n); got != c.want {
			t.Errorf("ShouldExplain(%q, %d) = %v", c.mode, c.n, got)
		}
	}
	if _, err := ParseExplain("sometimes"); err == nil {
		t.Fatal("bad --explain accepted")
	}
}

func TestGoVersionExperimentUsesThePassingGoOnTheFailingLibc(t *testing.T) {
	pins := matrix.Builtin()
	img := func(goV string, libc matrix.Libc) string {
		_, ref, err := pins.Lookup(matrix.Cell{Go: goV, Libc: libc})
		if err != nil {
			t.Fatal(err)
		}
		return ref.String()
	}
	failCell := matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	passCell := matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}
	rep := derive(report.Report{
		SchemaVersion: report.SchemaVersion,
		Cells:         []report.Cell{cellOf(failCell, true, job.StatusFailed), cellOf(passCell, true, job.StatusPassed)},
		Tests: []report.TestRow{{Package: "ex/a", Test: "TestNew", Results: []report.Result{
			{Cell: failCell.String(), Outcome: testjson.Fail}, {Cell: passCell.String(), Outcome: testjson.Pass}}}},
	})
	specs := []job.Spec{spec(failCell, true, img("1.26.8", matrix.Musl)), spec(passCell, true, img("1.27.1", matrix.Glibc))}
	runs := PlanExperiments(rep, specs, pins, Subjects(rep), Experiments)
	i := slices.IndexFunc(runs, func(r Run) bool { return r.Trial == "go-version" })
	if i < 0 {
		t.Fatalf("no go-version experiment among %d runs", len(runs))
	}
	if got, want := runs[i].Spec.Image, img("1.27.1", matrix.Musl); got != want || runs[i].Spec.Platform != "linux/amd64" || runs[i].Cell != failCell.String() {
		t.Fatalf("go-version runs %s on %s in %s, want %s on linux/amd64 in %s", got, runs[i].Spec.Platform, runs[i].Cell, want, failCell)
	}
	// Without a pin for that pair, nothing to try.
	if runs := PlanExperiments(rep, specs, nil, Subjects(rep), Experiments); slices.ContainsFunc(runs, func(r Run) bool { return r.Trial == "go-version" }) {
		t.Fatal("go-version planned with no pin")
	}
}

// A runtime that streams parses the test step as it runs and keeps only a
// capped stdout: the re-run's outcome is read from the parsed stream.
func TestReadRerunsUsesTheStreamedRun(t *testing.T) {
	full := testjson.ParseString(strings.Join([]string{
		`{"Action":"start","Package":"ex/a"}`,
		ev("run", "ex/a", "TestLibc"), `{"Action":"output","Package":"ex/a","Test":"TestLibc","Output":"=== RUN   TestLibc\n"}`,
		`{"Action":"output","Package":"ex/a","Test":"TestLibc","Output":"--- FAIL: TestLibc (0.00s)\n"}`,
		ev("fail", "ex/a", "TestLibc"), ev("fail", "ex/a", ""),
	}, "\n") + "\n")
	capped := "[... output cut ...]\n"
	res := job.Result{Cell: musl, Status: job.StatusFailed, TestJSON: capped, Run: &full, Steps: []job.StepResult{{Name: job.StepTest, Stdout: capped}}}
	got := ReadReruns([]Run{{Cell: musl.String(), Targets: []Target{{"ex/a", "TestLibc"}}, Attempt: 1}}, []job.Result{res})
	want := []report.Rerun{{Package: "ex/a", Test: "TestLibc", Cell: musl.String(), Outcome: testjson.Fail}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reruns = %+v, want %+v", got, want)
	}
}

// Measured (issue 14, case 5): re-runs dropped --skip and widened --run to
// the top-level test, so subtests the user excluded ran in re-runs and
// experiments. The re-run selects its top-level tests exactly and keeps
// the user's patterns for the levels below, and --skip as given.
func TestReduceKeepsRunAndSkip(t *testing.T) {
	s := spec(glibc, true, "img")
	test := &s.Steps[len(s.Steps)-1]
	test.Args = []string{"go", "test", "-json", "-count=1", "-run=^TestTable$/^(pos|neg)$/[a/b]", "-skip=TestTable/neg/slow", "./..."}
	got := Reduce(s, []Target{{"ex/b", "TestTable/neg"}}, Change{})
	args := got.Steps[len(got.Steps)-1].Args
	if !slices.Contains(args, "-skip=TestTable/neg/slow") {
		t.Errorf("args %q: --skip dropped", args)
	}
	if !slices.Contains(args, "-run=^(TestTable)$/^(pos|neg)$/[a/b]") {
		t.Errorf("args %q: want -run=^(TestTable)$/^(pos|neg)$/[a/b]", args)
	}
	// Without a user's pattern below the top level, the top level alone.
	test.Args = []string{"go", "test", "-json", "-run=^TestTable$", "./..."}
	args = Reduce(s, []Target{{"ex/b", "TestTable/neg"}}, Change{}).Steps[1].Args
	if !slices.Contains(args, "-run=^(TestTable)$") || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-skip") }) {
		t.Errorf("args %q", args)
	}
	// Several packages: the shell script keeps them too.
	test.Args = []string{"go", "test", "-json", "-run=/^pos$", "-skip=TestX", "./..."}
	args = Reduce(s, []Target{{"ex/a", "TestA/pos"}, {"ex/b", "TestB/pos"}}, Change{}).Steps[1].Args
	if script := args[len(args)-1]; !strings.Contains(script, "'-run=^(TestA)$/^pos$'") || !strings.Contains(script, "-skip=TestX") {
		t.Errorf("script %q", script)
	}
}

func TestSplitRunPattern(t *testing.T) {
	for in, want := range map[string][]string{
		"":                 {""},
		"TestA":            {"TestA"},
		"TestA/b":          {"TestA", "b"},
		"/b":               {"", "b"},
		"T[/]x/(a/b)/c\\/": {"T[/]x", "(a/b)", "c\\/"},
	} {
		if got := splitRunPattern(in); !slices.Equal(got, want) {
			t.Errorf("splitRunPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

// A test that failed with its siblings and passed every re-run alone is
// re-run with them: its package, the first run's flags (-run, -skip,
// -count, -tags), the seed the cell's -shuffle printed.
func TestPlanWithSiblings(t *testing.T) {
	rep := report.Report{
		Cells: []report.Cell{cellOf(glibc, true, job.StatusFailed), cellOf(musl, true, job.StatusFailed)},
		Tests: []report.TestRow{
			{Package: "ex/a", Test: "TestOrder", Flaky: true, Results: []report.Result{
				{Cell: glibc.String(), Outcome: testjson.Fail, Reruns: []testjson.Outcome{testjson.Pass, testjson.Pass}, Flaky: true},
				{Cell: musl.String(), Outcome: testjson.Pass, Reruns: []testjson.Outcome{testjson.Pass, testjson.Pass}},
			}},
			{Package: "ex/b", Test: "TestStillFails", Failed: true, Results: []report.Result{
				{Cell: glibc.String(), Outcome: testjson.Fail, Reruns: []testjson.Outcome{testjson.Fail, testjson.Pass}, Flaky: true},
			}},
		},
	}
	rep.Cells[0].ShuffleSeeds = map[string]int64{"ex/a": 1234}
	specs := []job.Spec{spec(glibc, true, "img-g"), spec(musl, true, "img-m")}
	runs := PlanWithSiblings(rep, specs, 2, "n0nce")
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2 attempts in glibc alone: %+v", len(runs), runs)
	}
	for _, r := range runs {
		if r.Cell != glibc.String() || !r.WithSiblings || !slices.Equal(r.Targets, []Target{{"ex/a", "TestOrder"}}) {
			t.Errorf("run %+v", r)
		}
		args := r.Spec.Steps[len(r.Spec.Steps)-1].Args
		want := []string{"go", "test", "-json", "-race", "-count=3", "-shuffle=1234", "-timeout=2m0s", "-run=^Test", "-tags=a,b", "ex/a"}
		if !slices.Equal(args, want) {
			t.Errorf("args %q, want %q", args, want)
		}
	}
	// Read back as runs with siblings.
	res := result(glibc, job.StatusFailed, ev("run", "ex/a", "TestOrder"), ev("fail", "ex/a", "TestOrder"), ev("fail", "ex/a", ""))
	got := ReadReruns(runs[:1], []job.Result{res})
	if len(got) != 1 || !got[0].WithSiblings || got[0].Outcome != testjson.Fail {
		t.Errorf("read back %+v", got)
	}
}

// Undecided rows get more re-runs, alone, in every compared cell where
// they ran, numbered after the attempts already made.
func TestPlanMore(t *testing.T) {
	rows := []report.TestRow{{Package: "ex/a", Test: "TestLibc", Results: []report.Result{
		{Cell: glibc.String(), Outcome: testjson.Pass}, {Cell: musl.String(), Outcome: testjson.Fail},
	}}}
	specs := []job.Spec{spec(glibc, true, "img-g"), spec(musl, true, "img-m")}
	runs := PlanMore(firstReport(), specs, rows, 3, 4, "n0nce")
	if len(runs) != 4 || runs[0].Attempt != 3 || runs[3].Attempt != 4 {
		t.Fatalf("runs %+v", runs)
	}
	if !slices.Contains(runs[3].Spec.Steps[1].Env, "PARITY_RERUN=n0nce-4") {
		t.Errorf("env %v", runs[3].Spec.Steps[1].Env)
	}
}

// derive works out what a report made by hand implies (divergences,
// causes, the verdict): a merge of one report is that report, derived.
func derive(r report.Report) report.Report {
	m, err := report.Merge(r)
	if err != nil {
		panic(err)
	}
	return m
}

// An order-dependent test is bisected over its siblings, one run per
// round, with the first run's seed, until the sibling it fails after is
// named; the report then says which.
func TestBisectNamesTheSiblingItDependsOn(t *testing.T) {
	res := func(o testjson.Outcome) report.Result { return report.Result{Cell: glibc.String(), Outcome: o} }
	od := res(testjson.Fail)
	od.Reruns = []testjson.Outcome{testjson.Pass, testjson.Pass}
	od.WithSiblings = []testjson.Outcome{testjson.Fail}
	c := cellOf(glibc, true, job.StatusFailed)
	c.ShuffleSeeds = map[string]int64{"ex/o": 42}
	rows := []report.TestRow{{Package: "ex/o", Test: "TestT", Results: []report.Result{od}}}
	for _, name := range []string{"TestA", "TestB", "TestC", "TestD", "TestE"} {
		rows = append(rows, report.TestRow{Package: "ex/o", Test: name, Results: []report.Result{res(testjson.Pass)}})
	}
	rep := derive(report.Report{SchemaVersion: report.SchemaVersion, Cells: []report.Cell{c}, Tests: rows})
	specs := []job.Spec{spec(glibc, true, "img")}

	// TestD leaves the state behind: the test fails in a probe with it.
	var probes []report.Probe
	for round := 1; ; round++ {
		runs := PlanBisect(rep, specs, "n")
		if len(runs) == 0 {
			break
		}
		if round > report.MaxProbes || len(runs) != 1 {
			t.Fatalf("round %d: %d runs", round, len(runs))
		}
		r := runs[0]
		args := strings.Join(r.Spec.Steps[len(r.Spec.Steps)-1].Args, " ")
		wantRun := "-run=^(" + strings.Join(append([]string{"TestT"}, r.Siblings...), "|") + ")$"
		if len(r.Targets) != 1 || r.Targets[0].Test != "TestT" || !strings.Contains(args, "-shuffle=42") ||
			!strings.Contains(args, "-count=1") || !strings.Contains(args, " ex/o") || r.Cell != glibc.String() {
			t.Fatalf("round %d: targets %v cell %s args %s", round, r.Targets, r.Cell, args)
		}
		if got := runArg(args); !sameAlternatives(got, wantRun) {
			t.Fatalf("round %d: %s, want the test and %v only (%s)", round, got, r.Siblings, wantRun)
		}
		o := testjson.Pass
		if slices.Contains(r.Siblings, "TestD") {
			o = testjson.Fail
		}
		probes = append(probes, report.Probe{Siblings: r.Siblings, Outcome: o})
		rows[0].Results[0].Bisection = probes
		rep = derive(report.Report{SchemaVersion: report.SchemaVersion, Cells: []report.Cell{c}, Tests: rows})
	}
	row := rep.Tests[slices.IndexFunc(rep.Tests, func(r report.TestRow) bool { return r.Test == "TestT" })]
	if row.Cause == nil || row.Cause.ID != "order-dependent" || !strings.Contains(row.Cause.Text, "fails after TestD runs") ||
		!strings.Contains(row.Cause.Evidence, "fails with TestD alone") {
		t.Fatalf("cause %+v after probes %+v", row.Cause, probes)
	}
}

func runArg(args string) string {
	for _, a := range strings.Fields(args) {
		if strings.HasPrefix(a, "-run=") {
			return a
		}
	}
	return ""
}

// sameAlternatives compares two -run=^(a|b)$ patterns as sets.
func sameAlternatives(a, b string) bool {
	set := func(s string) []string {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "-run=^("), ")$")
		f := strings.Split(s, "|")
		slices.Sort(f)
		return f
	}
	return slices.Equal(set(a), set(b))
}

// A libc divergence no specific experiment flips (printf("%p", NULL) in
// cgo: "(nil)" on glibc, "0" on musl) still gets one: the failing cell's
// run, its Go, flags, environment and limits, on the passing libc's image.
func TestLibcImageExperimentSwapsOnlyTheImage(t *testing.T) {
	pins := matrix.Builtin()
	img := func(libc matrix.Libc) string {
		_, ref, err := pins.Lookup(matrix.Cell{Go: "1.26.8", Libc: libc})
		if err != nil {
			t.Fatal(err)
		}
		return ref.String()
	}
	failCell := matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.ARM64}
	passCell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}
	rep := derive(report.Report{
		SchemaVersion: report.SchemaVersion,
		Cells:         []report.Cell{cellOf(failCell, false, job.StatusFailed), cellOf(passCell, false, job.StatusPassed)},
		Tests: []report.TestRow{{Package: "ex/a", Test: "TestPrintf", Results: []report.Result{
			{Cell: failCell.String(), Outcome: testjson.Fail}, {Cell: passCell.String(), Outcome: testjson.Pass}}}},
	})
	specs := []job.Spec{spec(failCell, false, img(matrix.Musl)), spec(passCell, false, img(matrix.Glibc))}
	runs := PlanExperiments(rep, specs, pins, Subjects(rep), Experiments)
	i := slices.IndexFunc(runs, func(r Run) bool { return r.Trial == "libc-image" })
	if i < 0 {
		t.Fatalf("no libc-image experiment among %d runs", len(runs))
	}
	r := runs[i]
	if r.Spec.Image != img(matrix.Glibc) || r.Spec.Platform != "linux/arm64" || r.Cell != failCell.String() || !slices.Equal(r.Spec.Env, specs[0].Env) {
		t.Fatalf("libc-image runs %s on %s in %s (env %v), want %s on linux/arm64 in %s with its own env", r.Spec.Image, r.Spec.Platform, r.Cell, r.Spec.Env, img(matrix.Glibc), failCell)
	}
	// The specific experiments come first: the first to confirm is reported.
	if last := Experiments[len(Experiments)-1].ID; last != "libc-image" {
		t.Errorf("the last experiment is %s: libc-image, the broadest, must come last", last)
	}
}

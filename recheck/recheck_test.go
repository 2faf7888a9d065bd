package recheck

import (
	"fmt"
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

// derive works out what a report made by hand implies (rows' words,
// divergences, what to run next): a merge of one report is that report,
// derived.
func derive(r report.Report) report.Report {
	if r.Options.Reruns == 0 {
		r.Options.Reruns, r.Options.RerunsMax = 2, 10
	}
	r.SchemaVersion = report.SchemaVersion
	m, err := report.Merge(r)
	if err != nil {
		panic(err)
	}
	return m
}

// row is a test's first-run outcomes, with alone re-runs per cell.
func row(pkg, test string, first map[matrix.Cell]testjson.Outcome, runs map[matrix.Cell]string) report.TestRow {
	r := report.TestRow{Package: pkg, Test: test}
	for _, c := range []matrix.Cell{glibc, musl, arm} {
		o, ok := first[c]
		if !ok {
			continue
		}
		r.Results = append(r.Results, alone(report.Result{Cell: c.String(), Outcome: o}, runs[c]))
	}
	return r
}

// alone adds alone re-runs to a result.
func alone(res report.Result, outcomes string) report.Result {
	for i, f := range strings.Fields(outcomes) {
		res.Reruns = append(res.Reruns, report.Rerun{Kind: report.RunAlone, Index: i + 1, Outcome: testjson.Outcome(f)})
	}
	return res
}

const (
	passes6 = "pass pass pass pass pass pass"
	fails6  = "fail fail fail fail fail fail"
)

// divergentReport: TestLibc fails every run on musl (crashes in the first
// run), TestArch every run on amd64 (glibc and musl) and never on arm64,
// TestMild skips on musl.
func divergentReport() report.Report {
	return derive(report.Report{
		Cells: []report.Cell{cellOf(glibc, true, job.StatusPassed), cellOf(musl, true, job.StatusFailed), cellOf(arm, false, job.StatusPassed)},
		Tests: []report.TestRow{
			row("ex/a", "TestArch", map[matrix.Cell]testjson.Outcome{glibc: testjson.Fail, musl: testjson.Fail, arm: testjson.Pass},
				map[matrix.Cell]string{glibc: fails6, musl: fails6, arm: passes6}),
			row("ex/a", "TestLibc", map[matrix.Cell]testjson.Outcome{glibc: testjson.Pass, musl: testjson.Crashed, arm: testjson.Pass},
				map[matrix.Cell]string{glibc: passes6, musl: fails6, arm: passes6}),
			row("ex/a", "TestMild", map[matrix.Cell]testjson.Outcome{glibc: testjson.Pass, musl: testjson.Skip, arm: testjson.Pass}, nil),
		},
	})
}

// What the first run screens in is re-run alone in every compared cell
// where it ran (the passing ones too), one container per cell and index
// for all of that cell's tests, package by package.
func TestPlanGroupsAloneRunsPerCellAndIndex(t *testing.T) {
	rep := derive(report.Report{
		Cells: []report.Cell{cellOf(glibc, true, job.StatusFailed), cellOf(musl, true, job.StatusFailed), cellOf(arm, false, job.StatusError)},
		Tests: []report.TestRow{
			row("ex/a", "TestLibc", map[matrix.Cell]testjson.Outcome{glibc: testjson.Pass, musl: testjson.Fail}, nil),
			row("ex/a", "TestOK", map[matrix.Cell]testjson.Outcome{glibc: testjson.Pass, musl: testjson.Pass}, nil),
			row("ex/b", "TestTable/neg", map[matrix.Cell]testjson.Outcome{glibc: testjson.Fail, musl: testjson.Pass, arm: testjson.Fail}, nil),
		},
	})
	specs := []job.Spec{spec(glibc, true, "img-g"), spec(musl, true, "img-m"), spec(arm, false, "img-g")}
	runs := Plan(rep, specs, report.Needs(rep, report.NextLook), "n0nce")
	if len(runs) != 4 {
		t.Fatalf("%d runs, want 2 cells x 2 indexes (arm64 ran no tests): %+v", len(runs), runs)
	}
	for _, r := range runs {
		if r.Cell == arm.String() || r.Kind != report.RunAlone {
			t.Fatalf("run %s", r.Label())
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
		env := s.Steps[1].Env
		if want := fmt.Sprintf("PARITY_RERUN=n0nce/alone/%d", r.Index); env[len(env)-1] != want {
			t.Errorf("env %v, want %s: re-runs told apart for step caches", env, want)
		}
	}
}

// A package row's own re-run runs its whole package with the first run's
// flags and seed, in a container of its own: the tests of that package
// re-run alone elsewhere.
func TestPackageRowReRunsItsPackage(t *testing.T) {
	c := cellOf(glibc, true, job.StatusFailed)
	c.ShuffleSeeds = map[string]int64{"ex/a": 7}
	rep := derive(report.Report{
		Cells: []report.Cell{c, cellOf(musl, true, job.StatusPassed)},
		Tests: []report.TestRow{
			row("ex/a", "", map[matrix.Cell]testjson.Outcome{glibc: testjson.Fail, musl: testjson.Pass}, nil),
			row("ex/a", "TestX", map[matrix.Cell]testjson.Outcome{glibc: testjson.Fail, musl: testjson.Pass}, nil),
		},
	})
	runs := Plan(rep, []job.Spec{spec(glibc, true, "g"), spec(musl, true, "m")}, report.Needs(rep, report.NextLook), "n")
	var pkgRuns, testRuns int
	for _, r := range runs {
		args := r.Spec.Steps[len(r.Spec.Steps)-1].Args
		switch {
		case slices.Equal(r.Targets, []Target{{"ex/a", ""}}):
			pkgRuns++
			if r.Cell == glibc.String() && !slices.Contains(args, "-shuffle=7") && !strings.Contains(strings.Join(args, " "), "-shuffle=7") {
				t.Errorf("package re-run without its seed: %q", args)
			}
			if !strings.Contains(strings.Join(args, " "), "-run=^Test") {
				t.Errorf("package re-run without the user's -run: %q", args)
			}
		case slices.Equal(r.Targets, []Target{{"ex/a", "TestX"}}):
			testRuns++
		default:
			t.Errorf("run %s mixes targets %v", r.Label(), r.Targets)
		}
	}
	if pkgRuns != 4 || testRuns != 4 {
		t.Errorf("%d package runs, %d test runs: want 2 of each per cell", pkgRuns, testRuns)
	}
}

func TestReduceOnePackageIsPlainGoTest(t *testing.T) {
	s := Reduce(spec(musl, false, "img"), []Target{{"ex/a", "TestX/sub"}, {"ex/a", "TestA"}, {"ex/a", "TestX"}}, nil, Change{})
	want := []string{"go", "test", "-json", "-timeout=2m0s", "-tags=a,b", "-count=1", "-run=^(TestA|TestX)$", "ex/a"}
	if got := s.Steps[1].Args; !slices.Equal(got, want) {
		t.Fatalf("args = %q, want %q", got, want)
	}
}

// Issue 20, measured: with --source-mode=copy, the wrapper's -c was kept
// as a go test flag ("go test -json -c -race ...": compile only) and
// package re-runs became "sh -c -json -race pkg". The command is data:
// every re-run keeps the wrapper around its own go test.
func TestReduceKeepsTheSourceCopy(t *testing.T) {
	s := spec(musl, true, "img")
	test := &s.Steps[len(s.Steps)-1]
	cmd := job.TestCommand{Flags: []string{"-json", "-race", "-count=3"}, Run: "^Test", Packages: []string{"./..."},
		Copy: &job.SourceCopy{From: "/src", To: "/tmp/src", Keep: []string{"go.mod", "go.sum"}}}
	test.Test, test.Args = &cmd, cmd.Args()
	for _, targets := range [][]Target{{{"ex/a", "TestX"}}, {{"ex/a", "TestX"}, {"ex/b", "TestY"}}, {{"ex/a", ""}}} {
		args := Reduce(s, targets, map[string]int64{"ex/a": 3}, Change{Flags: []string{"-gcflags=all=-d=fmahash=n"}}).Steps[1].Args
		if len(args) < 6 || args[0] != "sh" || args[1] != "-c" || !strings.Contains(args[2], `cp -pR "$e" "$dst/"`) || args[4] != "/src" || args[5] != "/tmp/src" {
			t.Fatalf("%v: not wrapped in the source copy: %q", targets, args)
		}
		inner := strings.Join(args[6:], " ")
		if strings.Contains(inner, " -c ") && !strings.HasPrefix(inner, "sh -c ") || !strings.Contains(inner, "go test -json -race") || !strings.Contains(inner, "-gcflags=all=-d=fmahash=n") {
			t.Errorf("%v: inner command %q", targets, inner)
		}
	}
}

func TestReadRecordsEveryTargetOfEveryRun(t *testing.T) {
	runs := []Run{
		{Cell: musl.String(), Kind: report.RunAlone, Index: 1, Targets: []Target{{"ex/a", "TestLibc"}, {"ex/b", "TestTable/neg"}, {"ex/b", "TestGone"}}},
		{Cell: musl.String(), Kind: report.RunAlone, Index: 2, Targets: []Target{{"ex/a", "TestLibc"}}},
		{Cell: glibc.String(), Kind: report.RunSiblings, Index: 1, Targets: []Target{{"ex/a", "TestLibc"}}},
		{Cell: glibc.String(), Kind: report.RunAlone, Index: 3, Targets: []Target{{"ex/a", ""}}},
	}
	results := []job.Result{
		result(musl, job.StatusFailed,
			ev("run", "ex/a", "TestLibc"), ev("fail", "ex/a", "TestLibc"), ev("fail", "ex/a", ""),
			ev("run", "ex/b", "TestTable"), ev("run", "ex/b", "TestTable/neg"), ev("pass", "ex/b", "TestTable/neg"), ev("pass", "ex/b", "TestTable"), ev("pass", "ex/b", "")),
		{Cell: musl, Status: job.StatusError, Message: "docker: daemon gone"},
		result(glibc, job.StatusPassed, ev("run", "ex/a", "TestLibc"), ev("pass", "ex/a", "TestLibc"), ev("pass", "ex/a", "")),
		result(glibc, job.StatusFailed, ev("fail", "ex/a", "")),
	}
	got := Read(runs, results)
	type rec struct {
		test, cell string
		kind       report.RunKind
		index      int
		o          testjson.Outcome
		err        bool
	}
	var have []rec
	for _, r := range got {
		have = append(have, rec{r.Test, r.Cell, r.Kind, r.Index, r.Outcome, r.Error != ""})
	}
	want := []rec{
		{"TestLibc", musl.String(), report.RunAlone, 1, testjson.Fail, false},
		{"TestTable/neg", musl.String(), report.RunAlone, 1, testjson.Pass, false},
		{"TestGone", musl.String(), report.RunAlone, 1, testjson.NotRun, true},
		{"TestLibc", musl.String(), report.RunAlone, 2, testjson.NotRun, true},
		{"TestLibc", glibc.String(), report.RunSiblings, 1, testjson.Pass, false},
		{"", glibc.String(), report.RunAlone, 3, testjson.Fail, false},
	}
	if !reflect.DeepEqual(have, want) {
		t.Fatalf("records\n%+v\nwant\n%+v", have, want)
	}
	if got[3].Error != "docker: daemon gone" {
		t.Errorf("why: %q", got[3].Error)
	}
}

// A runtime that streams parses the test step as it runs and keeps only a
// capped stdout: the re-run's outcome is read from the parsed stream.
func TestReadUsesTheStreamedRun(t *testing.T) {
	full := testjson.ParseString(strings.Join([]string{
		`{"Action":"start","Package":"ex/a"}`,
		ev("run", "ex/a", "TestLibc"), `{"Action":"output","Package":"ex/a","Test":"TestLibc","Output":"=== RUN   TestLibc\n"}`,
		`{"Action":"output","Package":"ex/a","Test":"TestLibc","Output":"--- FAIL: TestLibc (0.00s)\n"}`,
		ev("fail", "ex/a", "TestLibc"), ev("fail", "ex/a", ""),
	}, "\n") + "\n")
	capped := "[... output cut ...]\n"
	res := job.Result{Cell: musl, Status: job.StatusFailed, TestJSON: capped, Run: &full, Steps: []job.StepResult{{Name: job.StepTest, Stdout: capped}}}
	got := Read([]Run{{Cell: musl.String(), Kind: report.RunAlone, Index: 1, Targets: []Target{{"ex/a", "TestLibc"}}}}, []job.Result{res})
	if len(got) != 1 || got[0].Outcome != testjson.Fail {
		t.Fatalf("records = %+v", got)
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
	got := Reduce(s, []Target{{"ex/b", "TestTable/neg"}}, nil, Change{})
	args := got.Steps[len(got.Steps)-1].Args
	if !slices.Contains(args, "-skip=TestTable/neg/slow") {
		t.Errorf("args %q: --skip dropped", args)
	}
	if !slices.Contains(args, "-run=^(TestTable)$/^(pos|neg)$/[a/b]") {
		t.Errorf("args %q: want -run=^(TestTable)$/^(pos|neg)$/[a/b]", args)
	}
	// Without a user's pattern below the top level, the top level alone.
	test.Args = []string{"go", "test", "-json", "-run=^TestTable$", "./..."}
	args = Reduce(s, []Target{{"ex/b", "TestTable/neg"}}, nil, Change{}).Steps[1].Args
	if !slices.Contains(args, "-run=^(TestTable)$") || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-skip") }) {
		t.Errorf("args %q", args)
	}
	// Several packages: the shell script keeps them too.
	test.Args = []string{"go", "test", "-json", "-run=/^pos$", "-skip=TestX", "./..."}
	args = Reduce(s, []Target{{"ex/a", "TestA/pos"}, {"ex/b", "TestB/pos"}}, nil, Change{}).Steps[1].Args
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

// A test that failed with its siblings and passed its first re-runs alone
// runs with them (its package, the first run's flags and the seed the
// cell's -shuffle printed) beside as many runs alone.
func TestPlanWithSiblings(t *testing.T) {
	c := cellOf(glibc, true, job.StatusFailed)
	c.ShuffleSeeds = map[string]int64{"ex/a": 1234}
	rep := derive(report.Report{
		Cells: []report.Cell{c, cellOf(musl, true, job.StatusFailed)},
		Tests: []report.TestRow{
			row("ex/a", "TestOrder", map[matrix.Cell]testjson.Outcome{glibc: testjson.Fail, musl: testjson.Pass}, map[matrix.Cell]string{glibc: "pass pass", musl: "pass pass"}),
			row("ex/a", "TestA", map[matrix.Cell]testjson.Outcome{glibc: testjson.Pass, musl: testjson.Pass}, nil),
		},
	})
	specs := []job.Spec{spec(glibc, true, "img-g"), spec(musl, true, "img-m")}
	runs := Plan(rep, specs, report.Needs(rep, report.NextLook), "n0nce")
	var sib, alone int
	for _, r := range runs {
		args := r.Spec.Steps[len(r.Spec.Steps)-1].Args
		switch r.Kind {
		case report.RunSiblings:
			sib++
			if r.Cell != glibc.String() {
				t.Errorf("run %s: the order test runs where the test failed with its siblings", r.Label())
			}
			want := []string{"go", "test", "-json", "-race", "-timeout=2m0s", "-tags=a,b", "-count=1", "-shuffle=1234", "-run=^Test", "ex/a"}
			if !slices.Equal(args, want) {
				t.Errorf("args %q, want %q", args, want)
			}
		case report.RunAlone:
			// Runs 3 and 4 in both cells: the divergence test's second look
			// (no failure alone at the first is no evidence), which in
			// glibc is also the order test's alone arm.
			alone++
			if r.Index != 3 && r.Index != 4 {
				t.Errorf("alone run index %d", r.Index)
			}
		}
	}
	if sib != 2 || alone != 4 {
		t.Fatalf("%d with siblings, %d alone: want 2 and 4", sib, alone)
	}
}

// An order-dependent test is bisected over its siblings, one run per
// round, with the first run's seed; the sibling the probes point at is then
// tested: runs with it alone beside runs alone.
func TestBisectThenTestTheCandidate(t *testing.T) {
	c := cellOf(glibc, true, job.StatusFailed)
	c.ShuffleSeeds = map[string]int64{"ex/o": 42}
	od := row("ex/o", "TestT", map[matrix.Cell]testjson.Outcome{glibc: testjson.Fail}, map[matrix.Cell]string{glibc: "pass pass pass pass pass pass pass pass"})
	for i := range 6 {
		od.Results[0].Reruns = append(od.Results[0].Reruns, report.Rerun{Kind: report.RunSiblings, Index: i + 1, Outcome: testjson.Fail})
	}
	rows := []report.TestRow{od}
	for _, name := range []string{"TestA", "TestB", "TestC", "TestD", "TestE"} {
		rows = append(rows, row("ex/o", name, map[matrix.Cell]testjson.Outcome{glibc: testjson.Pass}, nil))
	}
	specs := []job.Spec{spec(glibc, true, "img")}
	rep := derive(report.Report{Cells: []report.Cell{c}, Tests: rows})
	for round := 1; ; round++ {
		runs := Plan(rep, specs, report.Needs(rep, report.NextLook), "n")
		if len(runs) == 0 {
			break
		}
		if round > report.MaxProbes+2 {
			t.Fatalf("round %d", round)
		}
		var recs []report.RerunOf
		for _, r := range runs {
			args := strings.Join(r.Spec.Steps[len(r.Spec.Steps)-1].Args, " ")
			if r.Targets[0].Test != "TestT" || r.Cell != glibc.String() || !strings.Contains(args, "-count=1") || !strings.Contains(args, " ex/o") {
				t.Fatalf("round %d: %s targets %v args %s", round, r.Label(), r.Targets, args)
			}
			o := testjson.Pass
			switch r.Kind {
			case report.RunProbe, report.RunCulprit:
				wantRun := "-run=^(" + strings.Join(append([]string{"TestT"}, r.Siblings...), "|") + ")$"
				if got := runArg(args); !sameAlternatives(got, wantRun) || !strings.Contains(args, "-shuffle=42") {
					t.Fatalf("round %d: %s, want the test and %v only (%s), seed 42", round, args, r.Siblings, wantRun)
				}
				if slices.Contains(r.Siblings, "TestD") {
					o = testjson.Fail
				}
			case report.RunCulpritControl:
			default:
				t.Fatalf("round %d: %s", round, r.Label())
			}
			recs = append(recs, Read([]Run{r}, []job.Result{result(glibc, job.StatusPassed, ev("run", "ex/o", "TestT"), ev(string(o), "ex/o", "TestT"), ev(string(o), "ex/o", ""))})...)
		}
		var err error
		if rep, err = report.AddReruns(rep, recs); err != nil {
			t.Fatal(err)
		}
	}
	r := rep.Tests[slices.IndexFunc(rep.Tests, func(r report.TestRow) bool { return r.Test == "TestT" })]
	if r.Cause == nil || r.Cause.ID != "order-dependent" || !strings.Contains(r.Cause.Text, "fails after TestD runs") {
		t.Fatalf("cause %+v", r.Cause)
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

func TestExperimentsFollowTheAxis(t *testing.T) {
	rep := divergentReport()
	subjects := report.Subjects(rep)
	if len(subjects) != 2 {
		t.Fatalf("subjects = %+v, want TestArch and TestLibc (a pass/skip difference has nothing to explain)", subjects)
	}
	for _, s := range subjects {
		want := map[string][2]string{"TestLibc": {musl.String(), glibc.String()}, "TestArch": {glibc.String(), arm.String()}}[s.Test]
		if s.Fail != want[0] || s.Pass != want[1] || s.Failures != 6 || s.Runs != 6 || s.Alpha != report.RowAlpha {
			t.Errorf("subject %+v, want in %s towards %s, 6 of 6", s, want[0], want[1])
		}
	}
	specs := []job.Spec{spec(glibc, true, "golang:glibc@sha256:g"), spec(musl, true, "golang:musl@sha256:m"), spec(arm, false, "golang:glibc@sha256:g")}
	runs := PlanExperiments(rep, specs, nil, subjects, Experiments, "n")
	byTest := map[string][]string{}
	for _, r := range runs {
		byTest[r.Targets[0].Test] = append(byTest[r.Targets[0].Test], r.Trial)
		if r.Cell != map[string]string{"TestLibc": musl.String(), "TestArch": glibc.String()}[r.Targets[0].Test] {
			t.Errorf("%s ran in %s, not where it failed", r.Trial, r.Cell)
		}
		if r.Index != 1 {
			t.Errorf("%s: the first round makes one run of each arm, not %d", r.Label(), r.Index)
		}
	}
	if got := byTest["TestLibc"]; !slices.Contains(got, "c-stack-8m") || !slices.Contains(got, "program-bash") || slices.Contains(got, "race-off") || !slices.Contains(got, "") {
		t.Errorf("libc experiments = %v (with the control, \"\")", got)
	}
	// TestArch follows the arch (race only follows it here): the race flip
	// applies, and a file copied from the arm64 image (same reference,
	// another platform) too.
	if got := byTest["TestArch"]; !slices.Contains(got, "race-off") || slices.Contains(got, "c-stack-8m") || !slices.Contains(got, "file-passwd") {
		t.Errorf("arch experiments = %v", got)
	}
	for _, r := range runs {
		test := r.Spec.Steps[len(r.Spec.Steps)-1]
		args := strings.Join(test.Args, " ")
		if !slices.ContainsFunc(test.Env, func(e string) bool { return strings.HasPrefix(e, "PARITY_RERUN=n/") }) {
			t.Errorf("%s: env %v lacks the call's nonce", r.Label(), test.Env)
		}
		switch r.Trial {
		case "":
			if r.Kind != report.RunControl || strings.Contains(args, "stack-size") {
				t.Errorf("control %s: %s", r.Label(), args)
			}
		case "race-off":
			if strings.Contains(args, "-race") || r.Spec.Race {
				t.Errorf("race-off still races: %s", args)
			}
		case "c-stack-8m":
			if !strings.Contains(args, "-ldflags=-linkmode=external -extldflags=-Wl,-z,stack-size=8388608") {
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

// Experiments run in rounds of 1, then up to 3, 7, ... runs per arm; an
// arm that can no longer be confirmed stops, and the control runs while
// any arm is alive, until report.ArmRuns.
func TestExperimentRounds(t *testing.T) {
	rep := divergentReport()
	subjects := report.Subjects(rep)[1:] // TestLibc
	specs := []job.Spec{spec(glibc, true, "golang:glibc@sha256:g"), spec(musl, true, "golang:musl@sha256:m"), spec(arm, false, "golang:glibc@sha256:g")}
	n := 0
	for round := 1; round < 10; round++ {
		runs := PlanExperiments(rep, specs, nil, subjects, Experiments, "n")
		if len(runs) == 0 {
			break
		}
		var recs []report.RerunOf
		trials := map[string]bool{}
		for _, r := range runs {
			trials[r.Trial] = true
			o := testjson.Fail
			if r.Trial == "c-stack-8m" {
				o = testjson.Pass
			}
			recs = append(recs, Read([]Run{r}, []job.Result{result(musl, job.StatusPassed, ev("run", "ex/a", "TestLibc"), ev(string(o), "ex/a", "TestLibc"), ev(string(o), "ex/a", ""))})...)
		}
		// A deterministic failure rules an experiment out after three runs
		// that fail (report.ArmAlive): from the third round on, only the
		// live experiment and the control.
		if round > 2 && (len(trials) != 2 || !trials["c-stack-8m"] || !trials[""]) {
			t.Fatalf("round %d: arms %v: only the live experiment and the control go on", round, trials)
		}
		var err error
		if rep, err = report.AddReruns(rep, recs); err != nil {
			t.Fatal(err)
		}
		n = round
	}
	row := rep.Tests[slices.IndexFunc(rep.Tests, func(r report.TestRow) bool { return r.Test == "TestLibc" })]
	e := row.Explanation
	if e == nil || !e.Confirmed || e.Experiment != "c-stack-8m" || e.Control.Runs != e.RunsPerArm || n > 5 {
		t.Fatalf("after %d rounds: %+v", n, e)
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
			alone(report.Result{Cell: failCell.String(), Outcome: testjson.Fail}, fails6), alone(report.Result{Cell: passCell.String(), Outcome: testjson.Pass}, passes6)}}},
	})
	specs := []job.Spec{spec(failCell, true, img("1.26.8", matrix.Musl)), spec(passCell, true, img("1.27.1", matrix.Glibc))}
	runs := PlanExperiments(rep, specs, pins, report.Subjects(rep), Experiments, "n")
	i := slices.IndexFunc(runs, func(r Run) bool { return r.Trial == "go-version" })
	if i < 0 {
		t.Fatalf("no go-version experiment among %d runs", len(runs))
	}
	if got, want := runs[i].Spec.Image, img("1.27.1", matrix.Musl); got != want || runs[i].Spec.Platform != "linux/amd64" || runs[i].Cell != failCell.String() {
		t.Fatalf("go-version runs %s on %s in %s, want %s on linux/amd64 in %s", got, runs[i].Spec.Platform, runs[i].Cell, want, failCell)
	}
	// Without a pin for that pair, nothing to try.
	if runs := PlanExperiments(rep, specs, nil, report.Subjects(rep), Experiments, "n"); slices.ContainsFunc(runs, func(r Run) bool { return r.Trial == "go-version" }) {
		t.Fatal("go-version planned with no pin")
	}
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
			alone(report.Result{Cell: failCell.String(), Outcome: testjson.Fail}, fails6), alone(report.Result{Cell: passCell.String(), Outcome: testjson.Pass}, passes6)}}},
	})
	specs := []job.Spec{spec(failCell, false, img(matrix.Musl)), spec(passCell, false, img(matrix.Glibc))}
	runs := PlanExperiments(rep, specs, pins, report.Subjects(rep), Experiments, "n")
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

package testjson

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The captures in testdata are real `go test -json` output of the fixture
// module in testdata/src/fx (see testdata/capture.sh).

func parseCapture(t *testing.T, name string) (Run, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return ParseString(string(b)), string(b)
}

func outcomes(r Run) map[string]Outcome {
	m := map[string]Outcome{}
	for _, t := range r.Tests {
		m[strings.TrimPrefix(t.Package, "example.com/fx/")+" "+t.Name] = t.Outcome
	}
	return m
}

type pkgWant struct {
	outcome, outside Outcome
}

func packages(r Run) map[string]pkgWant {
	m := map[string]pkgWant{}
	for _, p := range r.Packages {
		m[strings.TrimPrefix(p.ImportPath, "example.com/fx/")] = pkgWant{p.Outcome, p.OutsideTests}
	}
	return m
}

func checkMap[V comparable](t *testing.T, what string, got, want map[string]V) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("%s %q: missing, want %v", what, k, want[k])
		} else if g != want[k] {
			t.Errorf("%s %q = %v, want %v", what, k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s %q = %v: not expected", what, k, got[k])
		}
	}
}

var basicOutcomes = map[string]Outcome{
	"basic TestPass":          Pass,
	"basic TestFail":          Fail,
	"basic TestSkip":          Skip,
	"basic TestTable":         Fail,
	"basic TestTable/ok":      Pass,
	"basic TestTable/bad":     Fail,
	"basic TestTable/skipped": Skip,
}

func with(base map[string]Outcome, more map[string]Outcome) map[string]Outcome {
	m := maps.Clone(base)
	maps.Copy(m, more)
	return m
}

func TestCaptureOutcomes(t *testing.T) {
	tests := []struct {
		capture  string
		tests    map[string]Outcome
		packages map[string]pkgWant
	}{
		{
			capture: "go126-outcomes.json",
			tests: with(basicOutcomes, map[string]Outcome{
				// TestAfterPanic and TestTable/never have no events: not reported.
				"panics TestBeforePanic":      Pass,
				"panics TestPanics":           Panic,
				"subpanic TestTable":          Fail,
				"subpanic TestTable/fine":     Pass,
				"subpanic TestTable/explodes": Panic,
				"gopanic TestGoroutinePanics": Panic,
				"exits TestExits":             Crashed,
			}),
			packages: map[string]pkgWant{
				"basic":     {Fail, Pass},
				"broken":    {BuildFail, BuildFail},
				"notests":   {Skip, Skip},
				"panics":    {Fail, Pass},
				"subpanic":  {Fail, Pass},
				"gopanic":   {Fail, Pass},
				"exits":     {Fail, Pass},
				"initpanic": {Fail, Panic},
			},
		},
		{
			capture: "go126-timeout.json",
			tests: map[string]Outcome{
				"slow TestQuick":         Pass,
				"slow TestParallelWaits": NotRun,
				"slow TestSleeps":        Timeout,
			},
			packages: map[string]pkgWant{"slow": {Fail, Pass}},
		},
		{
			capture: "go126-race.json",
			tests: map[string]Outcome{
				"racy TestRacyCounter": Fail,
				"racy TestCalm":        Pass,
			},
			packages: map[string]pkgWant{"racy": {Fail, Pass}},
		},
		{
			capture: "go126-shuffle.json",
			tests: with(basicOutcomes, map[string]Outcome{
				"flaky TestFlaky":  Fail, // one run: the first fails
				"flaky TestSteady": Pass,
			}),
			packages: map[string]pkgWant{"basic": {Fail, Pass}, "flaky": {Fail, Pass}},
		},
		{
			capture: "go126-count2.json",
			tests: with(basicOutcomes, map[string]Outcome{
				"flaky TestFlaky":  Fail,
				"flaky TestSteady": Pass,
			}),
			packages: map[string]pkgWant{"basic": {Fail, Pass}, "flaky": {Fail, Pass}},
		},
		{
			capture: "go126-attrs.json",
			tests: map[string]Outcome{
				"attrs TestAttr":      Pass,
				"attrs TestArtifacts": Pass,
			},
			packages: map[string]pkgWant{"attrs": {Pass, Pass}},
		},
		{
			capture: "go123-outcomes.json",
			tests: with(basicOutcomes, map[string]Outcome{
				"panics TestBeforePanic": Pass,
				"panics TestPanics":      Panic,
			}),
			packages: map[string]pkgWant{
				"basic":  {Fail, Pass},
				"broken": {BuildFail, BuildFail},
				"panics": {Fail, Pass},
			},
		},
		{
			capture: "go123-mixed.json",
			tests: with(basicOutcomes, map[string]Outcome{
				"panics TestBeforePanic": Pass,
				"panics TestPanics":      Panic,
			}),
			packages: map[string]pkgWant{
				"basic":  {Fail, Pass},
				"broken": {BuildFail, BuildFail},
				"panics": {Fail, Pass},
			},
		},
		{
			capture: "cell-musl-amd64.json",
			tests: with(basicOutcomes, map[string]Outcome{
				"platform TestFusedMultiplyAdd":  Pass,
				"platform TestPrintfNullPointer": Fail, // musl prints "0"
				"platform TestRunsBash":          Fail,
				"platform TestSkipsWithoutBash":  Skip,
				"platform TestEverywhere":        Pass,
				"cgostack TestDeepCStack":        Crashed, // killed by SIGSEGV on a 128 KiB musl thread stack
				"racy TestRacyCounter":           Pass,
				"racy TestCalm":                  Pass,
			}),
			packages: map[string]pkgWant{
				"basic": {Fail, Pass}, "platform": {Fail, Pass}, "cgostack": {Fail, Pass}, "racy": {Pass, Pass},
			},
		},
		{
			capture: "cell-glibc-arm64.json",
			tests: with(basicOutcomes, map[string]Outcome{
				"platform TestFusedMultiplyAdd":  Fail, // FMADDD
				"platform TestPrintfNullPointer": Pass,
				"platform TestRunsBash":          Pass,
				"platform TestSkipsWithoutBash":  Pass,
				"platform TestEverywhere":        Pass,
				"cgostack TestDeepCStack":        Pass,
				"cgostack TestAfterCrash":        Pass,
				"racy TestRacyCounter":           Pass, // no -race
				"racy TestCalm":                  Pass,
			}),
			packages: map[string]pkgWant{
				"basic": {Fail, Pass}, "platform": {Fail, Pass}, "cgostack": {Pass, Pass}, "racy": {Pass, Pass},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			r, _ := parseCapture(t, tt.capture)
			checkMap(t, "test", outcomes(r), tt.tests)
			checkMap(t, "package (outcome, outside tests)", packages(r), tt.packages)
			if r.Truncated {
				t.Error("Truncated = true for a complete capture")
			}
		})
	}
}

func TestCaptureBuildFailureOutput(t *testing.T) {
	const compileError = "broken/broken_test.go:6:17: cannot use Answer() (value of type int) as string value"
	for _, capture := range []string{"go126-outcomes.json", "go123-mixed.json"} {
		t.Run(capture, func(t *testing.T) {
			r, _ := parseCapture(t, capture)
			p, ok := r.Package("example.com/fx/broken")
			if !ok {
				t.Fatal("package broken missing")
			}
			if !strings.Contains(p.BuildOutput, compileError) {
				t.Errorf("BuildOutput = %q, want the compiler error", p.BuildOutput)
			}
			if !strings.HasPrefix(p.BuildOutput, "# example.com/fx/broken") {
				t.Errorf("BuildOutput = %q, want it to start with go's # header", p.BuildOutput)
			}
		})
	}
	// Go 1.23 with stdout alone: only the package's "[build failed]" line.
	r, _ := parseCapture(t, "go123-outcomes.json")
	p, _ := r.Package("example.com/fx/broken")
	if want := "FAIL\texample.com/fx/broken [build failed]\n"; p.BuildOutput != want {
		t.Errorf("go1.23 stdout-only BuildOutput = %q, want %q", p.BuildOutput, want)
	}
	// ... and with the stderr capture appended, the compiler's error.
	stdout, _ := os.ReadFile("testdata/go123-outcomes.json")
	stderr, _ := os.ReadFile("testdata/go123-outcomes.stderr")
	r = ParseString(string(stdout) + string(stderr))
	p, _ = r.Package("example.com/fx/broken")
	if !strings.Contains(p.BuildOutput, compileError) {
		t.Errorf("go1.23 stdout+stderr BuildOutput = %q, want the compiler error", p.BuildOutput)
	}
	if !strings.Contains(r.Unattributed, compileError) {
		t.Errorf("Unattributed = %q, want the stderr lines kept", r.Unattributed)
	}
}

func TestCapturePanicOutputGoesToThePanickingTest(t *testing.T) {
	r, _ := parseCapture(t, "go126-outcomes.json")
	for _, c := range []struct{ pkg, test, panic string }{
		{"example.com/fx/panics", "TestPanics", "panic: assignment to entry in nil map"},
		{"example.com/fx/subpanic", "TestTable/explodes", "panic: planted panic in a subtest"},
		{"example.com/fx/gopanic", "TestGoroutinePanics", "panic: planted panic in a goroutine"},
	} {
		tt, ok := r.Test(c.pkg, c.test)
		if !ok {
			t.Errorf("%s %s missing", c.pkg, c.test)
			continue
		}
		if !strings.Contains(tt.Output, c.panic) || !strings.Contains(tt.Output, "goroutine ") {
			t.Errorf("%s %s output = %q, want the panic and its trace", c.pkg, c.test, tt.Output)
		}
	}
	p, _ := r.Package("example.com/fx/initpanic")
	if !strings.Contains(p.Output, "panic: planted panic in init") {
		t.Errorf("initpanic package output = %q, want the init panic", p.Output)
	}
	if _, ok := r.Test("example.com/fx/panics", "TestAfterPanic"); ok {
		t.Error("TestAfterPanic reported: it has no events and did not run")
	}
}

func TestCaptureTimeout(t *testing.T) {
	r, _ := parseCapture(t, "go126-timeout.json")
	p, _ := r.Package("example.com/fx/slow")
	if !p.TimedOut || !p.Ended {
		t.Errorf("slow: TimedOut=%v Ended=%v, want both", p.TimedOut, p.Ended)
	}
	tt, _ := r.Test("example.com/fx/slow", "TestSleeps")
	if !strings.Contains(tt.Output, "panic: test timed out after 2s") {
		t.Errorf("TestSleeps output = %q, want the timeout panic", tt.Output)
	}
}

func TestCaptureRace(t *testing.T) {
	r, _ := parseCapture(t, "go126-race.json")
	tt, _ := r.Test("example.com/fx/racy", "TestRacyCounter")
	for _, want := range []string{"WARNING: DATA RACE", "race detected during execution of test"} {
		if !strings.Contains(tt.Output, want) {
			t.Errorf("TestRacyCounter output lacks %q", want)
		}
	}
}

func TestCaptureShuffleSeeds(t *testing.T) {
	r, raw := parseCapture(t, "go126-shuffle.json")
	seeds := map[int64]bool{}
	for _, p := range r.Packages {
		if !p.Shuffled {
			t.Errorf("%s: Shuffled = false", p.ImportPath)
			continue
		}
		// Each test binary picks its own seed and prints it.
		if !strings.Contains(raw, `"-test.shuffle `+strconv.FormatInt(p.ShuffleSeed, 10)+`\n"`) {
			t.Errorf("%s: seed %d not what the stream printed", p.ImportPath, p.ShuffleSeed)
		}
		seeds[p.ShuffleSeed] = true
	}
	if len(seeds) != 2 {
		t.Errorf("seeds = %v, want one per package", seeds)
	}
	r, _ = parseCapture(t, "go126-outcomes.json")
	for _, p := range r.Packages {
		if p.Shuffled {
			t.Errorf("%s: Shuffled without -shuffle", p.ImportPath)
		}
	}
}

func TestCaptureCount2(t *testing.T) {
	r, _ := parseCapture(t, "go126-count2.json")
	flaky, _ := r.Test("example.com/fx/flaky", "TestFlaky")
	if !slices.Equal(flaky.Runs, []Outcome{Fail, Pass}) || !flaky.Flaky || flaky.Outcome != Fail {
		t.Errorf("TestFlaky: runs %v flaky %v outcome %v, want [fail pass] true fail", flaky.Runs, flaky.Flaky, flaky.Outcome)
	}
	steady, _ := r.Test("example.com/fx/flaky", "TestSteady")
	if !slices.Equal(steady.Runs, []Outcome{Pass, Pass}) || steady.Flaky {
		t.Errorf("TestSteady: runs %v flaky %v, want [pass pass] false", steady.Runs, steady.Flaky)
	}
	fail, _ := r.Test("example.com/fx/basic", "TestFail")
	if !slices.Equal(fail.Runs, []Outcome{Fail, Fail}) || fail.Flaky {
		t.Errorf("TestFail: runs %v flaky %v, want [fail fail] false", fail.Runs, fail.Flaky)
	}
	if n := strings.Count(flaky.Output, "=== RUN   TestFlaky"); n != 2 {
		t.Errorf("TestFlaky output has %d runs, want both: %q", n, flaky.Output)
	}
}

func TestCaptureAttrsAndArtifacts(t *testing.T) {
	r, _ := parseCapture(t, "go126-attrs.json")
	a, _ := r.Test("example.com/fx/attrs", "TestAttr")
	if a.Attrs["issue"] != "PAR-123" {
		t.Errorf("TestAttr attrs = %v, want issue=PAR-123", a.Attrs)
	}
	art, _ := r.Test("example.com/fx/attrs", "TestArtifacts")
	if !strings.Contains(art.Artifacts, "_artifacts") {
		t.Errorf("TestArtifacts artifacts = %q, want the directory", art.Artifacts)
	}
}

func TestCaptureNoTestFiles(t *testing.T) {
	r, _ := parseCapture(t, "go126-outcomes.json")
	p, _ := r.Package("example.com/fx/notests")
	if !p.NoTestFiles || p.Outcome != Skip {
		t.Errorf("notests: NoTestFiles=%v Outcome=%v, want true skip", p.NoTestFiles, p.Outcome)
	}
}

func TestCaptureElapsed(t *testing.T) {
	r, _ := parseCapture(t, "go126-timeout.json")
	p, _ := r.Package("example.com/fx/slow")
	if p.Elapsed.Milliseconds() < 2000 || p.Elapsed%1e6 != 0 {
		t.Errorf("slow elapsed = %v, want >= 2s with no float noise", p.Elapsed)
	}
}

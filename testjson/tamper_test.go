package testjson

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// go126-forged.json is real output of src/forge (go test -json -p 2 ./...,
// piped): its TestForge opens the go command's stdout (/proc/$PPID/fd/1)
// and writes test2json events for its own package, for package a (ended by
// then) and for a package that never runs; package c runs meanwhile.
func TestForgedEventsAreNotApplied(t *testing.T) {
	run, _ := parseCapture(t, "go126-forged.json")
	got := map[string]Outcome{}
	for _, tt := range run.Tests {
		got[strings.TrimPrefix(tt.Package, "example.com/forge/")+" "+tt.Name] = tt.Outcome
	}
	checkMap(t, "test", got, map[string]Outcome{
		"a TestA":      Pass, // forged fail after a's result
		"a TestAFails": Fail, // forged run+pass after a's result
		"b TestBFails": Fail, // a forged second run, with no output, that passed
		"b TestForge":  Fail, // a forged pass before its real fail
		"c TestC":      Pass,
	})
	for _, p := range run.Packages {
		want := map[string]Outcome{"a": Fail, "b": Fail, "c": Pass}[strings.TrimPrefix(p.ImportPath, "example.com/forge/")]
		if p.Outcome != want {
			t.Errorf("package %s = %s, want %s (a forged package pass came after a's real fail)", p.ImportPath, p.Outcome, want)
		}
	}
	want := []Tamper{
		{"example.com/forge/a", `"fail" of TestA after the package's result`},
		{"example.com/forge/a", `"run" of TestAFails after the package's result`},
		{"example.com/forge/a", `"pass" of TestAFails after the package's result`},
		{"example.com/forge/a", `package "pass" after the package's result`},
		{"example.com/forge/ghost", `"run" of TestMadeUp before the package's start`},
		{"example.com/forge/ghost", `"pass" of TestMadeUp before the package's start`},
		{"example.com/forge/b", `"pass" of TestNeverRan with no run event`},
		{"example.com/forge/b", `"pass" of TestBFails with no "--- PASS: TestBFails" line in its run`},
		{"example.com/forge/b", `"pass" of TestForge with no "--- PASS: TestForge" line in its run`},
		{"example.com/forge/b", `"run" of TestBFails with no output before the package's result`},
	}
	if tt, _ := run.Test("example.com/forge/b", "TestBFails"); len(tt.Runs) != 1 || tt.Flaky {
		t.Errorf("TestBFails runs %v flaky %v, want its one real run", tt.Runs, tt.Flaky)
	}
	if fmt.Sprint(run.Tampered) != fmt.Sprint(want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(strings.Split(fmt.Sprint(run.Tampered), "} {"), "}\n{"), strings.Join(strings.Split(fmt.Sprint(want), "} {"), "}\n{"))
	}
}

// Real streams have no findings. Packages tested in parallel (-p 2, the
// default on any machine with two cores) interleave their events, so a
// package's events inside another's block are not evidence of forging.
func TestRealStreamsAreNotTampered(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("captures: %v %v", files, err)
	}
	for _, f := range files {
		if strings.Contains(f, "forged") || strings.Contains(f, "hostile") {
			continue
		}
		run, _ := parseCapture(t, filepath.Base(f))
		if len(run.Tampered) > 0 {
			t.Errorf("%s: %v", f, run.Tampered)
		}
	}
	run, raw := parseCapture(t, "go126-interleaved.json")
	if !strings.Contains(raw, `"Action":"start","Package":"example.com/inter/y"`) || len(run.Tests) != 4 {
		t.Fatalf("interleaved capture: %d tests", len(run.Tests))
	}
	for _, tt := range run.Tests {
		if tt.Outcome != Pass {
			t.Errorf("%s %s = %s, want pass", tt.Package, tt.Name, tt.Outcome)
		}
	}
}

// runEvents is a test's run as test2json prints it: the run event, then the
// "=== RUN" line as output.
func runEvents(pkg, test string) string {
	return event("run", pkg, test, "") + event("output", pkg, test, "=== RUN   "+test+"\n")
}

// pkgEnd is a package's result as the go command prints it: its final
// line, then the result.
func pkgEnd(pkg, action string) string {
	line := map[string]string{"pass": "ok  \t" + pkg + "\t0.01s", "fail": "FAIL\t" + pkg + "\t0.01s", "skip": "?   \t" + pkg + "\t[no test files]"}[action]
	return event("output", pkg, "", line+"\n") + event(action, pkg, "", "")
}

// resultEvents is a test's result as test2json prints it: testing's result
// line as output, then the result.
func resultEvents(pkg, test, action string) string {
	return event("output", pkg, test, "--- "+strings.ToUpper(action)+": "+test+" (0.00s)\n") + event(action, pkg, test, "")
}

func TestTamperStartAndPause(t *testing.T) {
	stream := event("start", "p", "", "") +
		runEvents("p", "TestA") +
		event("start", "p", "", "") + // a second start
		event("run", "p", "TestA", "") + // a run while running
		resultEvents("p", "TestA", "pass") +
		event("cont", "p", "TestA", "") + // cont of a finished test: would reopen it
		pkgEnd("p", "fail")
	run := ParseString(stream)
	if len(run.Tampered) != 3 {
		t.Fatalf("findings: %v", run.Tampered)
	}
	if tt, _ := run.Test("p", "TestA"); tt.Outcome != Pass || len(tt.Runs) != 1 {
		t.Errorf("TestA = %s %v, want one passing run", tt.Outcome, tt.Runs)
	}
}

// Streams of go older than 1.20 have no start events at all.
func TestNoStartEventsAtAll(t *testing.T) {
	run := ParseString(event("run", "p", "TestA", "") + event("pass", "p", "TestA", "") + pkgEnd("p", "pass"))
	if len(run.Tampered) > 0 {
		t.Fatalf("findings: %v", run.Tampered)
	}
	// A result with no run is impossible there too, even as the first event.
	run = ParseString(event("fail", "q", "TestB", "") + event("run", "p", "TestA", "") + event("pass", "p", "TestA", "") + pkgEnd("p", "pass"))
	if len(run.Tampered) != 1 || run.Tampered[0] != (Tamper{"q", `"fail" of TestB with no run event`}) {
		t.Fatalf("findings: %v", run.Tampered)
	}
}

func TestTamperFindingsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(event("start", "p", "", "") + pkgEnd("p", "pass"))
	for i := range 1000 {
		b.WriteString(event("fail", "p", fmt.Sprintf("Test%d", i), ""))
	}
	run := ParseString(b.String())
	if len(run.Tampered) != maxTamper+1 || !strings.HasPrefix(run.Tampered[maxTamper].Reason, fmt.Sprintf("%d more", 1000-maxTamper)) {
		t.Fatalf("%d findings, last %v", len(run.Tampered), run.Tampered[len(run.Tampered)-1])
	}
}

// go126-cached.json: go test -json ./... run twice over an unchanged module
// (report/testdata/goaxis/src): every package is replayed from the cache.
func TestCachedPackages(t *testing.T) {
	run, _ := parseCapture(t, "go126-cached.json")
	if len(run.Packages) != 2 {
		t.Fatalf("%d packages", len(run.Packages))
	}
	for _, p := range run.Packages {
		if !p.Cached || p.Outcome != Pass {
			t.Errorf("%s: cached=%v outcome=%s, want cached pass", p.ImportPath, p.Cached, p.Outcome)
		}
	}
	run, _ = parseCapture(t, "go126-outcomes.json")
	for _, p := range run.Packages {
		if p.Cached {
			t.Errorf("%s: cached in a -count=1 run", p.ImportPath)
		}
	}
}

// A stream is untrusted input: any sequence of events parses without
// panicking, and a forged event never adds a result to an ended package.
func FuzzForgedEvents(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{4, 1, 4, 3, 3, 2, 8, 7})
	f.Fuzz(func(t *testing.T, ops []byte) {
		actions := []string{"start", "run", "pause", "cont", "pass", "fail", "skip", "output", "bench"}
		var b strings.Builder
		for i, op := range ops {
			test := []string{"", "TestA", "TestA/sub", "TestB"}[int(op>>4)%4]
			pkg := []string{"p", "q"}[i%2]
			b.WriteString(event(actions[int(op)%len(actions)], pkg, test, "x\n"))
		}
		run := ParseString(b.String())
		for _, tt := range run.Tests {
			if len(tt.Runs) == 0 {
				t.Errorf("%s %s: a result with no run", tt.Package, tt.Name)
			}
		}
	})
}

// A forged package pass while one of its tests runs (packages run in
// parallel, so a forger can hit one mid-test) does not end the package: its
// real results that follow still count.
func TestForgedPackagePassWhileATestRuns(t *testing.T) {
	stream := event("start", "q", "", "") +
		runEvents("q", "TestSlow") +
		event("pass", "q", "", "") + // forged
		resultEvents("q", "TestSlow", "fail") +
		pkgEnd("q", "fail")
	run := ParseString(stream)
	if len(run.Tampered) != 1 || run.Tampered[0].Reason != `package "pass" while TestSlow is running` {
		t.Fatalf("findings: %v", run.Tampered)
	}
	if tt, _ := run.Test("q", "TestSlow"); tt.Outcome != Fail {
		t.Errorf("TestSlow = %s, want fail", tt.Outcome)
	}
	if p, _ := run.Package("q"); p.Outcome != Fail {
		t.Errorf("q = %s, want fail", p.Outcome)
	}
}

// testdata/hostile's forger (in a real run, go test -json ./forger ./victim
// on two cores) writes, into the go command's stdout, a made-up passing test
// of victim, a fail of victim's passing TestGood and a second, passing run
// of its failing TestReal. Where the forged events land depends on timing:
// before victim starts, while it runs (before its first test), after its
// result. In every case victim's real results stand and each forged event
// is a finding.
func TestHostileForgerInEveryTiming(t *testing.T) {
	for _, c := range []struct {
		capture  string
		findings int
	}{
		{"go126-hostile-before.json", 5},
		{"go126-hostile-during.json", 5},
		{"go126-hostile-after.json", 5},
	} {
		run, _ := parseCapture(t, c.capture)
		got := map[string]string{}
		for _, tt := range run.Tests {
			if tt.Package == "example.com/hostile/victim" {
				got[tt.Name] = fmt.Sprintf("%s %v flaky=%v", tt.Outcome, tt.Runs, tt.Flaky)
			}
		}
		if want := map[string]string{"TestGood": "pass [pass] flaky=false", "TestReal": "fail [fail] flaky=false"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: victim %v, want %v", c.capture, got, want)
		}
		if len(run.Tampered) != c.findings {
			t.Errorf("%s: findings %v, want %d", c.capture, run.Tampered, c.findings)
		}
	}
}

// A forger that also prints testing's result line cannot be told from the
// test; of two results for one run the more severe stands, whichever came
// first: a forged pass does not hide a failure.
func TestTwoFramedResultsKeepTheFailure(t *testing.T) {
	for name, results := range map[string]string{
		"forged pass first": resultEvents("p", "TestX", "pass") + resultEvents("p", "TestX", "fail"),
		"forged pass last":  resultEvents("p", "TestX", "fail") + resultEvents("p", "TestX", "pass"),
	} {
		run := ParseString(event("start", "p", "", "") + runEvents("p", "TestX") + results + pkgEnd("p", "fail"))
		if tt, _ := run.Test("p", "TestX"); tt.Outcome != Fail || len(tt.Runs) != 1 {
			t.Errorf("%s: TestX = %s %v, want one failing run", name, tt.Outcome, tt.Runs)
		}
		if len(run.Tampered) != 1 || !strings.HasPrefix(run.Tampered[0].Reason, "two results for TestX in one run") {
			t.Errorf("%s: findings %v", name, run.Tampered)
		}
	}
}

// The hostile forger's "fail" of victim's passing test, landing after the
// test passed while victim still runs: the run printed no "--- FAIL" line,
// so the fail is not applied (measured: the more severe result used to win).
func TestForgedFailAfterARealPass(t *testing.T) {
	stream := event("start", "v", "", "") + runEvents("v", "TestGood") + resultEvents("v", "TestGood", "pass") +
		`{"Action":"fail","Package":"v","Test":"TestGood","Elapsed":0}` + "\n" +
		runEvents("v", "TestReal") + resultEvents("v", "TestReal", "fail") + pkgEnd("v", "fail")
	run := ParseString(stream)
	if tt, _ := run.Test("v", "TestGood"); tt.Outcome != Pass {
		t.Errorf("TestGood = %s, want pass", tt.Outcome)
	}
	if len(run.Tampered) != 1 || run.Tampered[0].Reason != `"fail" of TestGood with no "--- FAIL: TestGood" line in its run` {
		t.Errorf("findings %v", run.Tampered)
	}
}

// Forged events can reach the stream before the go command printed any
// start (the first package is still building): once a start shows that
// this toolchain prints them, what came before it for that package is
// forged, and the real results stand.
func TestEventsBeforeAnyStartAreForged(t *testing.T) {
	forged := runEvents("victim", "TestMadeUp") + resultEvents("victim", "TestMadeUp", "pass") + event("fail", "victim", "TestGood", "")
	real := event("start", "victim", "", "") + runEvents("victim", "TestGood") + resultEvents("victim", "TestGood", "pass") + event("pass", "victim", "", "")
	run := ParseString(forged + real)
	if _, ok := run.Test("victim", "TestMadeUp"); ok {
		t.Error("a test forged before any start is in the results")
	}
	if tt, _ := run.Test("victim", "TestGood"); tt.Outcome != Pass || len(tt.Runs) != 1 {
		t.Errorf("TestGood = %s %v, want its one real pass", tt.Outcome, tt.Runs)
	}
	if len(run.Tampered) == 0 {
		t.Error("events before the package's start went unnoticed")
	}
	// A toolchain that prints no start (Go < 1.20) is not tampering.
	old := ParseString(runEvents("p", "TestA") + resultEvents("p", "TestA", "pass") + pkgEnd("p", "pass"))
	if len(old.Tampered) != 0 {
		t.Errorf("a stream without start events flagged: %v", old.Tampered)
	}
}

// Measured (issue 14, case 4): a test of package a wrote a package-level
// pass of package b into the go command's stdout before any start event
// was printed (b still building). b's real start and events came later and
// were dropped as "after the package's result": b read pass and its failing
// test vanished. The forgery is the result that came before b's start; b's
// real stream wins.
func TestForgedEarlyPackageEndLosesToTheRealStream(t *testing.T) {
	forged := event("pass", "b", "", "") // written by a's test, before any start
	real := event("start", "a", "", "") + runEvents("a", "TestForge") + resultEvents("a", "TestForge", "pass") + pkgEnd("a", "pass") +
		event("start", "b", "", "") + runEvents("b", "TestGood") + resultEvents("b", "TestGood", "pass") +
		runEvents("b", "TestReal") + resultEvents("b", "TestReal", "fail") + pkgEnd("b", "fail")
	for name, stream := range map[string]string{
		"before any start":          forged + real,
		"after a's start, before b": event("start", "a", "", "") + forged + strings.TrimPrefix(real, event("start", "a", "", "")),
	} {
		run := ParseString(stream)
		if tt, ok := run.Test("b", "TestReal"); !ok || tt.Outcome != Fail || len(tt.Runs) != 1 {
			t.Errorf("%s: b TestReal = %s %v (found %v), want its one real fail", name, tt.Outcome, tt.Runs, ok)
		}
		if tt, _ := run.Test("b", "TestGood"); tt.Outcome != Pass {
			t.Errorf("%s: b TestGood = %s, want pass", name, tt.Outcome)
		}
		if p, _ := run.Package("b"); p.Outcome != Fail || !p.Ended {
			t.Errorf("%s: package b = %s ended=%v, want its real fail", name, p.Outcome, p.Ended)
		}
		if len(run.Tampered) != 1 || run.Tampered[0].Package != "b" {
			t.Errorf("%s: findings %v, want the forged package pass of b alone", name, run.Tampered)
		}
	}
}

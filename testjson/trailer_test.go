package testjson

import "testing"

// Measured (issue 14, case 8): a package's output line ending in
// "[no test files]", "(cached)" or "panic: test timed out" set the
// package's flags wherever it appeared. The go command prints these only as
// the package's own last line(s) before its result; anywhere else they are
// what a test printed, and change nothing.
func TestTrailersCountOnlyInPosition(t *testing.T) {
	start := event("start", "p", "", "")
	ok := event("output", "p", "", "ok  \tp\t0.01s\n") + event("pass", "p", "", "")
	cases := map[string]string{
		// TestMain (or a goroutine left running) prints the trailers as
		// package output before the tests run.
		"package output": start +
			event("output", "p", "", "?   \tp\t[no test files]\n") +
			event("output", "p", "", "ok  \tp\t(cached)\n") +
			event("output", "p", "", "panic: test timed out after 1h0m0s\n") +
			runEvents("p", "TestA") + resultEvents("p", "TestA", "pass") + event("output", "p", "", "PASS\n") + ok,
		// a test prints the timeout panic and carries on
		"test output": start + runEvents("p", "TestA") +
			event("output", "p", "TestA", "panic: test timed out after 1h0m0s\n") +
			resultEvents("p", "TestA", "pass") + event("output", "p", "", "PASS\n") + ok,
	}
	for name, stream := range cases {
		run := ParseString(stream)
		p, _ := run.Package("p")
		if p.NoTestFiles || p.Cached || p.TimedOut || p.Outcome != Pass {
			t.Errorf("%s: package p: no test files %v, cached %v, timed out %v, outcome %s; want a plain pass", name, p.NoTestFiles, p.Cached, p.TimedOut, p.Outcome)
		}
		if tt, _ := run.Test("p", "TestA"); tt.Outcome != Pass {
			t.Errorf("%s: TestA = %s, want pass", name, tt.Outcome)
		}
	}
	// In position they count.
	for name, c := range map[string]struct {
		stream string
		check  func(Package) bool
	}{
		"no test files": {start + event("output", "p", "", "?   \tp\t[no test files]\n") + event("skip", "p", "", ""), func(p Package) bool { return p.NoTestFiles && p.Outcome == Skip }},
		"cached":        {start + event("output", "p", "", "ok  \tp\t(cached)\n") + event("pass", "p", "", ""), func(p Package) bool { return p.Cached && p.Outcome == Pass }},
	} {
		if p, _ := ParseString(c.stream).Package("p"); !c.check(p) {
			t.Errorf("%s: in position, not recognised: %+v", name, p)
		}
	}
}

// A timeout panic followed by more test events of its package did not end
// the binary: it was printed by a test. A real one ends the package.
func TestTimeoutPanicOnlyWhenItEndsThePackage(t *testing.T) {
	run, _ := parseCapture(t, "go126-timeout.json")
	if p, _ := run.Package("example.com/fx/slow"); !p.TimedOut {
		t.Errorf("the real timeout capture: TimedOut = false")
	}
	stream := event("start", "p", "", "") + runEvents("p", "TestLiar") +
		event("output", "p", "TestLiar", "panic: test timed out after 1s\n") + resultEvents("p", "TestLiar", "fail") +
		runEvents("p", "TestB") + resultEvents("p", "TestB", "pass") +
		event("output", "p", "", "FAIL\n") + event("output", "p", "", "FAIL\tp\t0.01s\n") + event("fail", "p", "", "")
	run = ParseString(stream)
	if p, _ := run.Package("p"); p.TimedOut {
		t.Errorf("a timeout panic printed by a test mid-run marked the package timed out")
	}
	if tt, _ := run.Test("p", "TestLiar"); tt.Outcome != Fail {
		t.Errorf("TestLiar = %s, want fail", tt.Outcome)
	}
}

// A package result the go command prints follows the package's own final
// line ("ok  \tp\t…", "FAIL\tp…", "?   \tp\t[no test files]"). A forged
// package pass between two of the package's tests (after its start, so not
// caught as early) is not applied: the real events that follow win.
func TestForgedPackagePassBetweenTests(t *testing.T) {
	stream := event("start", "b", "", "") + runEvents("b", "TestGood") + resultEvents("b", "TestGood", "pass") +
		event("pass", "b", "", "") + // forged
		runEvents("b", "TestReal") + resultEvents("b", "TestReal", "fail") +
		event("output", "b", "", "FAIL\n") + event("output", "b", "", "FAIL\tb\t0.01s\n") + event("fail", "b", "", "")
	run := ParseString(stream)
	if tt, _ := run.Test("b", "TestReal"); tt.Outcome != Fail {
		t.Errorf("TestReal = %s, want fail", tt.Outcome)
	}
	if p, _ := run.Package("b"); p.Outcome != Fail {
		t.Errorf("b = %s, want fail", p.Outcome)
	}
	if len(run.Tampered) != 1 || run.Tampered[0].Reason != `package "pass" with no "ok  \tb" line before it` {
		t.Errorf("findings %q", run.Tampered)
	}
}

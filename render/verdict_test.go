package render

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
)

var (
	amd64Cell = matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	muslCell  = matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
)

func markdown(t *testing.T, r report.Report) string {
	t.Helper()
	var b strings.Builder
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// go126-forged.json: a test wrote test2json events into go test's stdout.
// Every renderer says so, and JUnit makes CI fail on it.
func TestForgedOutputInEveryRenderer(t *testing.T) {
	r := report.Build(report.Meta{Options: report.Options{Count: 1}}, report.Runs{Cells: []job.Result{
		{Cell: amd64Cell, Status: job.StatusFailed, TestJSON: readCapture(t, "go126-forged.json")},
	}})

	doc := decodeJUnit(t, r)
	c := findCase(t, doc, amd64Cell.String(), "parity", "forged test output in "+amd64Cell.String())
	if c.Error == nil || c.Error.Type != "tampered" || !strings.Contains(c.Error.Message, `example.com/forge/a: "fail" of TestA after the package's result`) ||
		!strings.Contains(c.Error.Text, `"run" of TestBFails with no output before the package's result`) {
		t.Errorf("tamper case = %+v", c)
	}
	if real := findCase(t, doc, amd64Cell.String(), "example.com/forge/a", "TestAFails"); real.Failure == nil {
		t.Errorf("the real failure of a.TestAFails is gone: %+v", real)
	}
	term := terminal(t, r, TerminalOptions{})
	for _, want := range []string{"FORGED TEST OUTPUT (1 cell)", `    example.com/forge/ghost: "run" of TestMadeUp before the package's start`, "    ... and 5 more", "1 cell with forged test output"} {
		if !strings.Contains(term, want) {
			t.Errorf("terminal lacks %q:\n%s", want, term)
		}
	}
	if ann := annotationsOf(t, r); !strings.Contains(ann, "::error title=forged test output in go1.26.8/glibc/amd64::a test wrote 10 events into go test's output") {
		t.Errorf("annotations:\n%s", ann)
	}
	md := markdown(t, r)
	for _, want := range []string{"### ❌ Forged test output (1 cell)", `| go1.26.8/glibc/amd64 | example.com/forge/b | "pass" of TestNeverRan with no run event |`, "1 cell with forged test output"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// A cell that is not compared still shows in JUnit the tests it ran: a
// real failing test is never hidden behind the cell's own error (measured:
// a cell marked not-runnable showed failures="0").
func TestJUnitCellNotComparedKeepsItsTests(t *testing.T) {
	for _, st := range []job.Status{job.StatusNotRunnable, job.StatusError, job.StatusKilled, job.StatusOutOfMemory} {
		r := report.Build(report.Meta{}, report.Runs{Cells: []job.Result{
			{Cell: amd64Cell, Status: st, Message: "why " + string(st), TestJSON: readCapture(t, "go126-outcomes.json")},
		}})

		doc := decodeJUnit(t, r)
		s := doc.Suites[0]
		if s.Failures == 0 || doc.Failures == 0 {
			t.Errorf("%s: failures=%d: the failing tests are hidden", st, s.Failures)
		}
		if c := findCase(t, doc, amd64Cell.String(), "example.com/fx/basic", "TestFail"); c.Failure == nil {
			t.Errorf("%s: basic.TestFail = %+v", st, c)
		}
		if c := findCase(t, doc, amd64Cell.String(), "parity", "cell "+amd64Cell.String()); c.Error == nil || c.Error.Type != string(st) || c.Error.Message != string(st)+": why "+string(st) {
			t.Errorf("%s: cell case = %+v", st, c)
		}
	}
}

// A cell the machine stopped (killed, out of memory, ...) is its own
// outcome with its reason, in every renderer: the test it was running is not
// a failure and nothing diverges because of it.
func TestInfrastructureOutcomeInRenderers(t *testing.T) {
	full := readCapture(t, "go126-timeout.json")
	cut := full[:strings.Index(full, "panic: test timed out")]
	cut = cut[:strings.LastIndex(cut, "\n")+1]
	msg := "out of memory during test: the kernel killed a process of the cell (memory limit 512 MiB)"
	r := report.Build(report.Meta{}, report.Runs{Cells: []job.Result{
		{Cell: amd64Cell, Status: job.StatusOutOfMemory, Message: msg, TestJSON: cut},
		{Cell: muslCell, Status: job.StatusFailed, TestJSON: full},
	}})

	term := terminal(t, r, TerminalOptions{})
	if !strings.Contains(term, "go1.26.8/glibc/amd64  out-of-memory: "+msg) || strings.Contains(term, "DIVERGENT") {
		t.Errorf("terminal:\n%s", term)
	}
	if failing := term[strings.Index(term, "FAILING"):]; strings.Contains(failing[:strings.Index(failing, "\n\n")], "glibc/amd64") {
		t.Errorf("the out-of-memory cell shows as a test failure:\n%s", term)
	}
	md := markdown(t, r)
	if !strings.Contains(md, "| go1.26.8/glibc/amd64 | out-of-memory | "+msg+" |") || strings.Contains(md, "Divergent") {
		t.Errorf("markdown:\n%s", md)
	}
	doc := decodeJUnit(t, r)
	if c := findCase(t, doc, amd64Cell.String(), "parity", "cell "+amd64Cell.String()); c.Error == nil || c.Error.Type != "out-of-memory" {
		t.Errorf("cell case = %+v", c)
	}
	if c := findCase(t, doc, amd64Cell.String(), "example.com/fx/slow", "TestSleeps"); c.Skipped == nil || c.Failure != nil || c.Error != nil {
		t.Errorf("TestSleeps in the out-of-memory cell = %+v, want skipped (not finished)", c)
	}
	if !strings.Contains(strings.Join(r.Conclusion.Reasons, "\n"), "cell go1.26.8/glibc/amd64 did not run to the end: out-of-memory: "+msg) {
		t.Errorf("verdict reasons: %q", r.Conclusion.Reasons)
	}
}

func TestCachedResultsShown(t *testing.T) {
	r := report.Build(report.Meta{}, report.Runs{Cells: []job.Result{{Cell: amd64Cell, Status: job.StatusPassed, TestJSON: readCapture(t, "go126-cached.json")}}})
	want := "packages replayed from go test's cache, not run this time (go1.26.8/glibc/amd64 2): run with --count=1 to run them"
	if term := terminal(t, r, TerminalOptions{}); !strings.Contains(term, "cached: "+want) {
		t.Errorf("terminal:\n%s", term)
	}
	if md := markdown(t, r); !strings.Contains(md, "Cached: "+escapeText(want)) {
		t.Errorf("markdown:\n%s", md)
	}
}

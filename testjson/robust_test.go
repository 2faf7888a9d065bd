package testjson

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readCapture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEmptyStream(t *testing.T) {
	r := ParseString("")
	if len(r.Packages) != 0 || len(r.Tests) != 0 || r.Truncated || r.Unattributed != "" {
		t.Errorf("empty stream parsed to %+v", r)
	}
}

// A killed `go test` leaves half an event as its last line.
func TestTruncatedLastLine(t *testing.T) {
	raw := readCapture(t, "go126-outcomes.json")
	cut := raw[:len(raw)-20] // inside initpanic's final fail event
	r := ParseString(cut)
	if !r.Truncated {
		t.Error("Truncated = false")
	}
	if strings.Contains(r.Unattributed, `{"Time"`) {
		t.Errorf("half an event kept as output: %q", r.Unattributed)
	}
	p, _ := r.Package("example.com/fx/initpanic")
	if p.Ended || p.Outcome != Crashed || p.OutsideTests != Panic {
		t.Errorf("initpanic: Ended=%v Outcome=%v OutsideTests=%v, want false crashed panic", p.Ended, p.Outcome, p.OutsideTests)
	}
	// Everything before the cut is unchanged.
	got, want := outcomes(r), outcomes(ParseString(raw))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outcomes changed by the cut:\n got %v\nwant %v", got, want)
	}
}

// The stream of a process killed while a test ran (e.g. the cell's own
// timeout): the test has no terminal event and neither has its package.
func TestKilledMidTest(t *testing.T) {
	raw := readCapture(t, "go126-timeout.json")
	i := strings.Index(raw, `"Output":"=== RUN   TestSleeps\n"}`)
	if i < 0 {
		t.Fatal("capture changed: no RUN line for TestSleeps")
	}
	r := ParseString(raw[:i] + `"Output":"=== RUN   TestSleeps\n"}` + "\n")
	if r.Truncated {
		t.Error("Truncated = true for a stream cut at a line end")
	}
	tt, _ := r.Test("example.com/fx/slow", "TestSleeps")
	if tt.Outcome != Crashed {
		t.Errorf("TestSleeps = %v, want crashed (no timeout message)", tt.Outcome)
	}
	p, _ := r.Package("example.com/fx/slow")
	if p.Ended || p.Outcome != Crashed || p.OutsideTests != Pass {
		t.Errorf("slow: Ended=%v Outcome=%v OutsideTests=%v, want false crashed pass (its crashed test explains it)", p.Ended, p.Outcome, p.OutsideTests)
	}
}

// stderr lines mixed into stdout must not change any outcome and must be
// kept.
func TestNonJSONLinesInterleaved(t *testing.T) {
	raw := readCapture(t, "go126-outcomes.json")
	lines := strings.SplitAfter(raw, "\n")
	var mixed strings.Builder
	for i, l := range lines {
		mixed.WriteString(l)
		if i%7 == 3 {
			fmt.Fprintf(&mixed, "stray stderr line %d\n", i)
		}
		if i == 10 {
			mixed.WriteString("{not json at all\n")
			mixed.WriteString(`{"valid":"json but not an event"}` + "\n")
		}
	}
	clean, dirty := ParseString(raw), ParseString(mixed.String())
	if !reflect.DeepEqual(outcomes(clean), outcomes(dirty)) {
		t.Errorf("outcomes differ:\nclean %v\ndirty %v", outcomes(clean), outcomes(dirty))
	}
	if !reflect.DeepEqual(packages(clean), packages(dirty)) {
		t.Errorf("packages differ:\nclean %v\ndirty %v", packages(clean), packages(dirty))
	}
	for _, want := range []string{"stray stderr line 3\n", "{not json at all\n", `{"valid":"json but not an event"}`} {
		if !strings.Contains(dirty.Unattributed, want) {
			t.Errorf("Unattributed lacks %q", want)
		}
	}
	if dirty.Truncated {
		t.Error("Truncated = true")
	}
}

func TestCRLFLineEnds(t *testing.T) {
	raw := readCapture(t, "go126-race.json")
	r := ParseString(strings.ReplaceAll(raw, "\n", "\r\n"))
	if !reflect.DeepEqual(outcomes(r), outcomes(ParseString(raw))) || r.Unattributed != "" {
		t.Errorf("CRLF changed the parse: %v, unattributed %q", outcomes(r), r.Unattributed)
	}
}

func event(action, pkg, test, output string) string {
	return fmt.Sprintf(`{"Action":%q,"Package":%q,"Test":%q,"Output":%q}`+"\n", action, pkg, test, output)
}

func TestOutputCapped(t *testing.T) {
	var s strings.Builder
	s.WriteString(event("run", "p", "TestLoud", ""))
	s.WriteString(event("output", "p", "TestLoud", "FIRST LINE\n"))
	for i := range 20000 {
		s.WriteString(event("output", "p", "TestLoud", fmt.Sprintf("line %d of noise\n", i)))
	}
	s.WriteString(event("output", "p", "TestLoud", "LAST LINE\n"))
	s.WriteString(event("fail", "p", "TestLoud", ""))
	s.WriteString(event("fail", "p", "", ""))
	r := ParseString(s.String())
	tt, _ := r.Test("p", "TestLoud")
	if !tt.Truncated || !strings.Contains(tt.Output, TruncationMarker) {
		t.Fatalf("Truncated=%v, marker present=%v", tt.Truncated, strings.Contains(tt.Output, TruncationMarker))
	}
	if len(tt.Output) > MaxOutput+100 {
		t.Errorf("output is %d bytes, want about %d", len(tt.Output), MaxOutput)
	}
	if !strings.HasPrefix(tt.Output, "FIRST LINE\n") || !strings.HasSuffix(tt.Output, "LAST LINE\n") {
		t.Errorf("head or tail lost: %q ... %q", tt.Output[:40], tt.Output[len(tt.Output)-40:])
	}
	// No line is cut in half around the marker.
	for _, l := range strings.Split(strings.TrimSuffix(tt.Output, "\n"), "\n") {
		if !strings.HasPrefix(l, "line ") && !strings.HasPrefix(l, TruncationMarker) && l != "FIRST LINE" && l != "LAST LINE" {
			t.Errorf("partial line %q", l)
		}
	}
}

// A single event longer than the reader's buffer.
func TestHugeLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10) + "\n"
	r := ParseString(event("run", "p", "TestX", "") + event("output", "p", "TestX", long) + event("pass", "p", "TestX", "") + event("pass", "p", "", ""))
	tt, _ := r.Test("p", "TestX")
	if tt.Outcome != Pass || !tt.Truncated {
		t.Errorf("TestX: %v truncated=%v, want pass true", tt.Outcome, tt.Truncated)
	}
}

func TestPassedPackageClosesOpenBenchmarks(t *testing.T) {
	// Successful benchmarks get a run event and no terminal one.
	r := ParseString(event("run", "p", "BenchmarkX", "") + event("output", "p", "BenchmarkX", "BenchmarkX-2   \t      10\t      2118 ns/op\n") + event("pass", "p", "", ""))
	tt, _ := r.Test("p", "BenchmarkX")
	if tt.Outcome != Pass {
		t.Errorf("BenchmarkX = %v, want pass", tt.Outcome)
	}
}

func TestPanicTextInALogIsNotAPanic(t *testing.T) {
	// t.Log indents its lines: "panic: " must start the line to count.
	r := ParseString(event("run", "p", "TestLog", "") +
		event("output", "p", "TestLog", "    x_test.go:5: panic: not really\n") +
		event("fail", "p", "TestLog", "") + event("fail", "p", "", ""))
	if tt, _ := r.Test("p", "TestLog"); tt.Outcome != Fail {
		t.Errorf("TestLog = %v, want fail", tt.Outcome)
	}
}

func TestUnknownActionKeepsOutput(t *testing.T) {
	r := ParseString(event("run", "p", "TestX", "") + event("frobnicate", "p", "TestX", "from the future\n") + event("pass", "p", "TestX", "") + event("pass", "p", "", ""))
	if tt, _ := r.Test("p", "TestX"); tt.Outcome != Pass || !strings.Contains(tt.Output, "from the future") {
		t.Errorf("TestX = %v %q", tt.Outcome, tt.Output)
	}
}

func TestParseOutputUsesStderrForBuildErrors(t *testing.T) {
	stdout := readCapture(t, "go123-outcomes.json")
	stderr := readCapture(t, "go123-outcomes.stderr")
	r := ParseOutput(stdout, stderr)
	p, _ := r.Package("example.com/fx/broken")
	if p.Outcome != BuildFail || !strings.Contains(p.BuildOutput, "cannot use Answer()") {
		t.Errorf("broken: %v %q", p.Outcome, p.BuildOutput)
	}
	// A truncated stdout stays truncated: stderr is not glued to its last line.
	r = ParseOutput(stdout[:len(stdout)-5], stderr)
	if !r.Truncated {
		t.Error("Truncated = false")
	}
	if !strings.Contains(r.Unattributed, "# example.com/fx/broken") {
		t.Errorf("stderr lost: %q", r.Unattributed)
	}
}

func TestTruncate(t *testing.T) {
	if s, cut := Truncate("short\n", 100); s != "short\n" || cut {
		t.Errorf("Truncate(short) = %q, %v", s, cut)
	}
	long := strings.Repeat("0123456789\n", 100)
	s, cut := Truncate(long, 200)
	if !cut || !strings.Contains(s, TruncationMarker) || len(s) > 300 {
		t.Errorf("Truncate(long, 200) = %q, %v", s, cut)
	}
	if !strings.HasPrefix(s, "0123456789\n") || !strings.HasSuffix(s, "0123456789\n") {
		t.Errorf("Truncate cut inside a line: %q", s)
	}
}

package testjson

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parse reads a `go test -json` stream. It fails only when reading fails;
// content it cannot interpret is kept as unattributed output.
func Parse(r io.Reader) (Run, error) {
	p := newParser()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			p.line(bytes.TrimRight(line, "\r\n"), complete)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Run{}, fmt.Errorf("reading go test -json output: %w", err)
		}
	}
	return p.finish(), nil
}

// ParseString is Parse for a stream already in memory.
func ParseString(s string) Run {
	run, _ := Parse(strings.NewReader(s)) // a strings.Reader never fails
	return run
}

type parser struct {
	pkgs         map[string]*pkgState
	builds       map[string]*capBuf // build-output events by ImportPath
	blocks       map[string]*capBuf // plain-text "# import/path" blocks by path
	block        *capBuf            // the block non-JSON lines currently extend
	unattributed *capBuf
	truncated    bool
	// sawStart is set once any package's start event was seen: from then
	// on (Go 1.20+) every package's events must follow its own start.
	sawStart bool
	tampered []Tamper
	tamperN  int // every impossible event, also those past maxTamper
}

type pkgState struct {
	path    string
	started bool
	cached  bool // go test replayed the result from its cache
	tests   map[string]*testState
	// open holds the tests (not benchmarks) whose latest run is open, kept
	// as events arrive so a package result checks it in O(1).
	open        map[string]bool
	out         *capBuf
	ended       bool
	outcome     Outcome
	elapsed     time.Duration
	failedBuild string
	buildFailed bool // "FAIL p [build failed]" or "[setup failed]"
	noTestFiles bool
	timedOut    bool
	// trailer is the package's latest package-level output line since its
	// last test event: the go command prints its final line ("ok  \tp\t…",
	// "FAIL\tp…", "?   \tp\t[no test files]") right before the package's
	// result, and only that line says cached, no test files or build failed.
	trailer string
	// timeoutSeen is set by a "panic: test timed out" line and cleared by
	// any later test event of the package: the real panic ends the binary,
	// so it is the package's last word; one a test printed is followed by
	// more. It becomes timedOut when the package fails or its stream ends.
	timeoutSeen bool
	panicked    bool // a panic line outside any test
	shuffled    bool
	seed        int64
	lastFailed  string // the test whose fail event came last
	// While a subtest's panic is printed under its top-level test, the
	// lines are copied to the subtest: copyFrom is the test printing them.
	copyFrom string
	copyTo   *testState
}

type testState struct {
	name      string
	runs      []runState
	out       *capBuf
	attrs     map[string]string
	artifacts string
}

type runState struct {
	outcome    Outcome // empty while the run is open
	lastAction string  // run, pause or cont
	panicked   bool
	elapsed    time.Duration
	// confirmed is set by the run's first output: test2json follows every
	// run event with the "=== RUN" line as output, so a run without output
	// was forged.
	confirmed bool
	// framed holds the results whose line ("--- FAIL: TestX (0.01s)") the
	// run printed: test2json emits a result only after that line.
	framed map[Outcome]bool
}

func newParser() *parser {
	return &parser{
		pkgs:         map[string]*pkgState{},
		builds:       map[string]*capBuf{},
		blocks:       map[string]*capBuf{},
		unattributed: newCapBuf(MaxOutput),
	}
}

func (p *parser) line(line []byte, complete bool) {
	e, ok := decodeEvent(line)
	if !ok {
		if !complete {
			p.truncated = true
			if len(line) > 0 && line[0] == '{' {
				return // half an event: nothing worth keeping
			}
		}
		p.text(string(line))
		return
	}
	p.block = nil
	p.event(e)
}

// text keeps a non-JSON line, and collects it into a build block when it
// follows a "# import/path" header, as go prints build errors.
func (p *parser) text(s string) {
	p.unattributed.WriteString(s + "\n")
	if path, ok := strings.CutPrefix(s, "# "); ok {
		path = strings.Trim(strings.Fields(path + " x")[0], "[]")
		if p.blocks[path] == nil {
			p.blocks[path] = newCapBuf(MaxOutput)
		}
		p.block = p.blocks[path]
	}
	if p.block != nil {
		p.block.WriteString(s + "\n")
	}
}

func (p *parser) pkg(path string) *pkgState {
	ps := p.pkgs[path]
	if ps == nil {
		ps = &pkgState{path: path, tests: map[string]*testState{}, open: map[string]bool{}, out: newCapBuf(MaxOutput)}
		p.pkgs[path] = ps
	}
	return ps
}

func (ps *pkgState) test(name string) *testState {
	ts := ps.tests[name]
	if ts == nil {
		ts = &testState{name: name, out: newCapBuf(MaxOutput)}
		ps.tests[name] = ts
	}
	return ts
}

// open returns the test's current run, starting one if none is open.
func (ts *testState) open() *runState {
	if n := len(ts.runs); n > 0 && ts.runs[n-1].outcome == "" {
		return &ts.runs[n-1]
	}
	ts.runs = append(ts.runs, runState{lastAction: ActionRun})
	return &ts.runs[len(ts.runs)-1]
}

// last returns the test's latest run, open or not, starting one if none.
func (ts *testState) last() *runState {
	if len(ts.runs) == 0 {
		return ts.open()
	}
	return &ts.runs[len(ts.runs)-1]
}

func (p *parser) event(e Event) {
	if e.Package == "" {
		switch {
		case e.Action == ActionBuildOutput && e.ImportPath != "":
			if p.builds[e.ImportPath] == nil {
				p.builds[e.ImportPath] = newCapBuf(MaxOutput)
			}
			p.builds[e.ImportPath].WriteString(e.Output)
		case e.Action == ActionBuildFail:
			// The package's own fail event names this build in FailedBuild.
		case e.Output != "":
			p.unattributed.WriteString(e.Output)
		}
		return
	}
	if reason := p.impossible(e); reason != "" {
		// Only a process writing into the go command's stdout (a test
		// opening /proc/$PPID/fd/1) makes such an event: it is not applied.
		p.tamper(e.Package, reason)
		return
	}
	if e.Action == ActionStart {
		if early := p.pkgs[e.Package]; early != nil && !early.started {
			// Its events came before any start was printed (the first
			// package still building): once a start shows this toolchain
			// prints them, those events were forged. Drop them.
			p.tamper(e.Package, "events before the package's start (dropped)")
			delete(p.pkgs, e.Package)
		}
		ps := p.pkg(e.Package)
		p.sawStart, ps.started = true, true
		return
	}
	ps := p.pkg(e.Package)
	if e.Test == "" {
		p.packageEvent(ps, e)
		return
	}
	ts := ps.test(e.Test)
	defer ps.track(ts)
	ps.trailer = ""
	if e.Action != ActionOutput {
		ps.timeoutSeen = false // the binary went on after the panic line
	}
	switch e.Action {
	case ActionRun:
		ts.open()
	case ActionPause, ActionCont:
		ts.open().lastAction = e.Action
	case ActionOutput, ActionBench:
		ps.testOutput(ts, e.Output)
	case ActionPass, ActionFail, ActionSkip:
		if n := len(ts.runs); n > 0 && ts.runs[n-1].outcome != "" {
			r := &ts.runs[n-1]
			// A second result for one run: one of the two is forged and
			// nothing says which, so the more severe stands: a forged pass
			// cannot hide a failure.
			p.tamper(e.Package, fmt.Sprintf("two results for %s in one run (%s, then %s): kept %s", e.Test, r.outcome, e.Action, mostSevere(r.outcome, Outcome(e.Action))))
			if r.outcome = mostSevere(r.outcome, Outcome(e.Action)); r.outcome == Fail && r.panicked {
				r.outcome = Panic
			}
			return
		}
		r := ts.open()
		r.outcome = Outcome(e.Action)
		r.elapsed = seconds(e.Elapsed)
		if r.outcome == Fail {
			ps.lastFailed = ts.name
			if r.panicked {
				r.outcome = Panic
			}
		}
		if ps.copyFrom == ts.name {
			ps.copyFrom, ps.copyTo = "", nil
		}
	case ActionAttr:
		if ts.attrs == nil {
			ts.attrs = map[string]string{}
		}
		ts.attrs[e.Key] = e.Value
	case ActionArtifacts:
		ts.artifacts = e.Path
	default:
		if e.Output != "" { // an action from a newer toolchain
			ps.testOutput(ts, e.Output)
		}
	}
}

// maxTamper caps the findings kept: a forger could print millions.
const maxTamper = 20

// impossible says why the go command cannot have printed e, or "". The go
// command prints a package's start before any other event of it and
// nothing after its package-level result, and a test's result closes a run
// its run event opened. Packages run in parallel (-p) interleave their
// events, so one package's events inside another's are not impossible.
func (p *parser) impossible(e Event) string {
	ps := p.pkgs[e.Package]
	what := describe(e)
	switch {
	case e.Action == ActionStart && ps != nil && !ps.started:
		// Events of the package came before its start: they are the
		// forgery (even a package result), and the real stream begins
		// here (see event).
		return ""
	case ps != nil && ps.ended:
		return what + " after the package's result"
	case e.Action == ActionStart && ps != nil && ps.started:
		return "a second start of the package"
	case e.Action == ActionStart:
		return ""
	case p.sawStart && (ps == nil || !ps.started):
		return what + " before the package's start"
	case e.Test == "" && e.Action == ActionPass && ps != nil && len(ps.open) > 0:
		// A test binary that exits 0 has reported every test it started
		// (os.Exit(0) mid-test fails the package): a forged early result
		// for a package still running must not end it.
		return what + " while " + p.running(ps) + " is running"
	case e.Test == "" && p.sawStart && isResult(e.Action) && (ps == nil || !framesResult(ps.trailer, ps.path, e.Action)):
		// The go command prints the package's final line right before its
		// result: a result without it was written by someone else.
		return fmt.Sprintf("%s with no %q line before it", what, resultPrefix(e.Action)+e.Package)
	case e.Test == "":
		return ""
	}
	var ts *testState
	if ps != nil {
		ts = ps.tests[e.Test]
	}
	open := ts != nil && len(ts.runs) > 0 && ts.runs[len(ts.runs)-1].outcome == ""
	switch e.Action {
	case ActionRun:
		if open {
			return what + " while the test is running"
		}
	case ActionPass, ActionFail, ActionSkip:
		if ts == nil || len(ts.runs) == 0 {
			return what + " with no run event"
		}
		if r := ts.runs[len(ts.runs)-1]; p.sawStart && !r.framed[Outcome(e.Action)] && !strings.HasPrefix(e.Test, "Benchmark") {
			return fmt.Sprintf("%s with no \"--- %s: %s\" line in its run", what, strings.ToUpper(e.Action), e.Test)
		}
	case ActionPause, ActionCont:
		if !open {
			return what + " of a test that is not running"
		}
	}
	return ""
}

func isResult(action string) bool {
	return action == ActionPass || action == ActionFail || action == ActionSkip
}

// resultPrefix is how the go command's final line for a package with this
// result starts, before the import path.
func resultPrefix(action string) string {
	switch action {
	case ActionPass:
		return "ok  \t"
	case ActionSkip:
		return "?   \t"
	}
	return "FAIL\t"
}

// framesResult reports whether line is the go command's final line for
// package path with this result: "ok  \tp\t0.01s", "FAIL\tp [build
// failed]", "?   \tp\t[no test files]".
func framesResult(line, path, action string) bool {
	rest, ok := strings.CutPrefix(line, resultPrefix(action)+path)
	return ok && (rest == "" || rest[0] == '\t' || rest[0] == ' ')
}

// track records whether the test's latest run is open (and confirmed by
// output). Benchmarks are left out: a successful benchmark prints no result
// line.
func (ps *pkgState) track(ts *testState) {
	n := len(ts.runs)
	if n > 0 && ts.runs[n-1].outcome == "" && ts.runs[n-1].confirmed && !strings.HasPrefix(ts.name, "Benchmark") {
		ps.open[ts.name] = true
	} else {
		delete(ps.open, ts.name)
	}
}

// running names the first (by name) test of ps whose run is open, for a
// finding; past the findings kept, it does not look (a forger could make
// this the cost of every event).
func (p *parser) running(ps *pkgState) string {
	if len(p.tampered) >= maxTamper {
		return "a test"
	}
	return slices.Min(slices.Collect(maps.Keys(ps.open)))
}

// resultLine reports whether out is testing's result line for the test
// ("--- PASS: TestX (0.00s)", indented for subtests) and which result.
func resultLine(out, name string) (Outcome, bool) {
	rest, ok := strings.CutPrefix(strings.TrimLeft(out, " "), "--- ")
	if !ok {
		return "", false
	}
	word, rest, ok := strings.Cut(rest, ": ")
	if !ok || !strings.HasPrefix(rest, name) || len(rest) > len(name) && rest[len(name)] != ' ' && rest[len(name)] != '\n' {
		return "", false
	}
	switch word {
	case "PASS", "FAIL", "SKIP":
		return Outcome(strings.ToLower(word)), true
	}
	return "", false
}

// dropUnconfirmed removes, when its package ends, each run no output ever
// confirmed: a forged run event, for a test that may not even exist.
func (p *parser) dropUnconfirmed(ps *pkgState) {
	for _, name := range slices.Sorted(maps.Keys(ps.tests)) {
		ts := ps.tests[name]
		if n := len(ts.runs); n > 0 && ts.runs[n-1].outcome == "" && !ts.runs[n-1].confirmed {
			ts.runs = ts.runs[:n-1]
			p.tamper(ps.path, fmt.Sprintf(`"run" of %s with no output before the package's result`, name))
		}
	}
}

// describe names an event in a finding: `"fail" of TestA`, `package "pass"`.
func describe(e Event) string {
	if e.Test == "" {
		return fmt.Sprintf("package %q", e.Action)
	}
	return fmt.Sprintf("%q of %s", e.Action, e.Test)
}

func (p *parser) tamper(pkg, reason string) {
	p.tamperN++
	if len(p.tampered) < maxTamper {
		p.tampered = append(p.tampered, Tamper{Package: pkg, Reason: reason})
	}
}

func mostSevere(a, b Outcome) Outcome {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

func (ps *pkgState) testOutput(ts *testState, out string) {
	// The latest run, even closed: a forged result (with a forged result
	// line) may have closed it before the real line arrives.
	if n := len(ts.runs); n > 0 {
		r := &ts.runs[n-1]
		r.confirmed = true
		if o, ok := resultLine(out, ts.name); ok {
			if r.framed == nil {
				r.framed = map[Outcome]bool{}
			}
			r.framed[o] = true
		}
	}
	ts.out.WriteString(out)
	if ps.copyFrom == ts.name && ps.copyTo != nil {
		ps.copyTo.out.WriteString(out)
	}
	if !strings.HasPrefix(out, "panic: ") {
		return
	}
	if isTimeoutPanic(out) {
		ps.timeoutSeen = true
		return
	}
	owner := ts
	// testing prints a subtest's panic under its top-level test, after the
	// subtest's own fail event: give the panic to that subtest.
	if lf := ps.lastFailed; strings.HasPrefix(lf, ts.name+"/") {
		owner = ps.tests[lf]
		owner.out.WriteString(out)
		ps.copyFrom, ps.copyTo = ts.name, owner
	}
	r := owner.last()
	ps.track(owner)
	r.panicked = true
	if r.outcome == Fail {
		r.outcome = Panic
	}
}

func isTimeoutPanic(out string) bool { return strings.HasPrefix(out, "panic: test timed out") }

func (p *parser) packageEvent(ps *pkgState, e Event) {
	switch e.Action {
	case ActionOutput, ActionBench:
		ps.out.WriteString(e.Output)
		line := strings.TrimRight(e.Output, "\n")
		if line != "" {
			ps.trailer = line
		}
		switch {
		case strings.HasPrefix(line, "-test.shuffle "):
			if seed, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "-test.shuffle ")), 10, 64); err == nil {
				ps.shuffled, ps.seed = true, seed
			}
		case isTimeoutPanic(line):
			ps.timeoutSeen = true
		case strings.HasPrefix(line, "panic: "):
			ps.panicked = true
		}
	case ActionPass, ActionFail, ActionSkip:
		if p.sawStart {
			p.dropUnconfirmed(ps)
		}
		// Only the final line says how the go command got the result.
		switch t := ps.trailer; {
		case framesResult(t, ps.path, ActionFail) && (strings.HasSuffix(t, " [build failed]") || strings.HasSuffix(t, " [setup failed]")):
			ps.buildFailed = true
		case framesResult(t, ps.path, ActionSkip) && strings.HasSuffix(t, "\t[no test files]"):
			ps.noTestFiles = true
		case strings.HasPrefix(t, "ok  \t"+ps.path+"\t(cached)"):
			ps.cached = true
		}
		ps.timedOut = ps.timeoutSeen && e.Action == ActionFail
		ps.ended = true
		ps.outcome = Outcome(e.Action)
		ps.elapsed = seconds(e.Elapsed)
		if e.FailedBuild != "" {
			ps.failedBuild = e.FailedBuild
		}
		ps.closeOpenTests()
	}
}

// closeOpenTests decides the outcome of tests left without a terminal event
// when their package ended (or the stream did).
func (ps *pkgState) closeOpenTests() {
	for _, ts := range ps.tests {
		if len(ts.runs) == 0 {
			continue // output for a test that never started: keep, no outcome
		}
		r := &ts.runs[len(ts.runs)-1]
		if r.outcome != "" {
			continue
		}
		switch {
		case r.lastAction == ActionPause:
			r.outcome = NotRun // a parallel test still waiting for its turn
		case ps.ended && ps.outcome == Pass:
			r.outcome = Pass // a package cannot pass with a failing test: benchmarks end this way
		case ps.timedOut:
			r.outcome = Timeout
		case r.panicked:
			r.outcome = Panic
		case strings.HasPrefix(ts.name, "Benchmark"):
			r.outcome = Pass // successful benchmarks print no terminal line
		default:
			r.outcome = Crashed
		}
	}
}

func (p *parser) finish() Run {
	run := Run{Truncated: p.truncated, Tampered: p.tampered}
	if more := p.tamperN - len(p.tampered); more > 0 {
		run.Tampered = append(slices.Clip(run.Tampered), Tamper{Reason: fmt.Sprintf("%d more impossible events not listed", more)})
	}
	run.Unattributed, _ = p.unattributed.String()
	for _, path := range slices.Sorted(maps.Keys(p.pkgs)) {
		ps := p.pkgs[path]
		if !ps.ended {
			ps.timedOut = ps.timeoutSeen
			ps.closeOpenTests()
		}
		var tests []Test
		for _, name := range slices.SortedFunc(maps.Keys(ps.tests), compareTestNames) {
			if t, ok := ps.tests[name].result(path); ok {
				tests = append(tests, t)
			}
		}
		run.Packages = append(run.Packages, p.packageResult(ps, tests))
		run.Tests = append(run.Tests, tests...)
	}
	return run
}

func (ts *testState) result(pkg string) (Test, bool) {
	if len(ts.runs) == 0 {
		return Test{}, false
	}
	t := Test{Package: pkg, Name: ts.name, Attrs: ts.attrs, Artifacts: ts.artifacts}
	for _, r := range ts.runs {
		t.Runs = append(t.Runs, r.outcome)
		t.Elapsed += r.elapsed
	}
	t.Outcome, t.Flaky = Combine(t.Runs)
	t.Output, t.Truncated = ts.out.String()
	return t, true
}

func (p *parser) packageResult(ps *pkgState, tests []Test) Package {
	pkg := Package{
		ImportPath:  ps.path,
		Outcome:     ps.outcome,
		Elapsed:     ps.elapsed,
		NoTestFiles: ps.noTestFiles,
		Ended:       ps.ended,
		TimedOut:    ps.timedOut,
		ShuffleSeed: ps.seed,
		Shuffled:    ps.shuffled,
		Cached:      ps.cached,
	}
	pkg.Output, _ = ps.out.String()
	switch {
	case !ps.ended && ps.timedOut:
		pkg.Outcome = Timeout
	case !ps.ended:
		pkg.Outcome = Crashed
	case ps.outcome == Fail && (ps.failedBuild != "" || ps.buildFailed):
		pkg.Outcome = BuildFail
		pkg.BuildOutput = p.buildOutput(ps)
	}
	pkg.OutsideTests = outsideTests(pkg, ps.panicked, tests)
	return pkg
}

// outsideTests says what went wrong in a package that its tests' outcomes
// do not explain.
func outsideTests(pkg Package, panicked bool, tests []Test) Outcome {
	switch pkg.Outcome {
	case Pass, Skip, BuildFail:
		return pkg.Outcome
	}
	if slices.ContainsFunc(tests, func(t Test) bool { return t.Outcome.Failed() }) {
		return Pass
	}
	switch {
	case panicked:
		return Panic
	case pkg.TimedOut:
		return Timeout
	case !pkg.Ended:
		return Crashed
	}
	return Fail
}

// buildOutput finds what the compiler said about a package that did not
// build: the build-output events of the failed build, else those of any
// build of the package, else a plain-text "# path" block (Go < 1.24, or
// stderr appended to the stream), else the package's own output.
func (p *parser) buildOutput(ps *pkgState) string {
	if b := p.builds[ps.failedBuild]; b != nil {
		s, _ := b.String()
		return s
	}
	for _, key := range slices.Sorted(maps.Keys(p.builds)) {
		if f := strings.Fields(key); len(f) > 0 && f[0] == ps.path {
			s, _ := p.builds[key].String()
			return s
		}
	}
	if b := p.blocks[ps.path]; b != nil {
		s, _ := b.String()
		return s
	}
	s, _ := ps.out.String()
	return s
}

// seconds converts test2json's Elapsed, rounding away float noise
// (2.006 must not become 2.005999999s).
func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// compareTestNames orders tests by name segment so that a parent sorts
// before its subtests and siblings stay together ("A", "A/x", "A-b").
func compareTestNames(a, b string) int {
	return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
}

// CompareTestNames is the order Run.Tests uses within a package.
func CompareTestNames(a, b string) int { return compareTestNames(a, b) }

// ParseOutput parses a test step's stdout (the -json stream) followed by its
// stderr, whose lines are never events: Go < 1.24 prints build errors there,
// and they become the build output of the packages they name.
func ParseOutput(stdout, stderr string) Run {
	p := newParser()
	for line := range strings.Lines(stdout) {
		complete := strings.HasSuffix(line, "\n")
		p.line([]byte(strings.TrimRight(line, "\r\n")), complete)
	}
	p.block = nil
	for line := range strings.Lines(stderr) {
		p.text(strings.TrimRight(line, "\r\n"))
	}
	return p.finish()
}

// Truncate cuts s to about limit bytes the way test output is capped: head
// and tail kept at line boundaries, TruncationMarker between them.
func Truncate(s string, limit int) (string, bool) {
	if len(s) <= limit {
		return s, false
	}
	b := newCapBuf(limit)
	b.WriteString(s)
	return b.String()
}

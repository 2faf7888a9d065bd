package testjson

import "time"

// Run is everything one `go test -json` stream says.
type Run struct {
	Packages []Package // sorted by import path
	Tests    []Test    // sorted by package, then test name (parents before subtests)
	// Unattributed holds the lines that were not test2json events (stderr
	// mixed in, Go < 1.24 build errors), capped at MaxOutput.
	Unattributed string
	// Truncated is set when the stream ended inside a line: the process
	// printing it was killed.
	Truncated bool
	// Tampered lists the events the go command cannot have printed (see
	// Tamper), in stream order; they were not applied.
	Tampered []Tamper
}

// Tamper is an event no go command prints: one package's events after its
// result or before its start, a test result without a run, a second result
// for one run. A test can write such events into the go command's stdout
// (/proc/$PPID/fd/1) to forge results; a stream that has any cannot be
// trusted to be complete.
type Tamper struct {
	Package string // the package the event names; "" for the overflow line
	Reason  string // one line
}

// Package is one package's result.
type Package struct {
	ImportPath string
	// Outcome is go test's verdict on the package: pass, fail, skip (no test
	// files), build-fail; timeout or crashed when the stream ended before the
	// package did.
	Outcome Outcome
	// OutsideTests is what went wrong outside any test; pass when the
	// package's result is explained by its tests (see the package doc).
	OutsideTests Outcome
	Elapsed      time.Duration
	NoTestFiles  bool
	Ended        bool // the package's terminal event was seen
	TimedOut     bool // it printed "panic: test timed out"
	// Output is what the package printed outside any test ("PASS", "ok ...",
	// an init panic), capped at MaxOutput.
	Output string
	// BuildOutput is the compiler's output when the package did not build.
	BuildOutput string
	// ShuffleSeed is the seed -shuffle printed ("-test.shuffle N"), when
	// Shuffled: rerun with -shuffle=N to reproduce the order.
	ShuffleSeed int64
	Shuffled    bool
	// Cached is set when go test replayed the package's result from its
	// cache ("ok  pkg (cached)") instead of running its tests.
	Cached bool
}

// Test is one test's (or subtest's) result.
type Test struct {
	Package string
	Name    string // "TestTable/case_a" for subtests
	Outcome Outcome
	// Runs is each run's outcome in order; more than one with -count=N.
	Runs  []Outcome
	Flaky bool // runs disagree: some failed, some did not
	// Elapsed is the sum over runs, as test2json reported them.
	Elapsed time.Duration
	// Output is every run's output concatenated, capped at MaxOutput.
	Output    string
	Truncated bool
	Attrs     map[string]string // t.Attr (Go 1.25+)
	Artifacts string            // t.ArtifactDir (Go 1.26+, with -artifacts)
}

// Test returns the named test of the named package.
func (r Run) Test(pkg, name string) (Test, bool) {
	for _, t := range r.Tests {
		if t.Package == pkg && t.Name == name {
			return t, true
		}
	}
	return Test{}, false
}

// Package returns the named package.
func (r Run) Package(importPath string) (Package, bool) {
	for _, p := range r.Packages {
		if p.ImportPath == importPath {
			return p, true
		}
	}
	return Package{}, false
}

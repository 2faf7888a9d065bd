// Package testjson reads the stream `go test -json` prints (test2json events)
// for one cell and says what happened to each package and each test in it.
//
// Outcomes follow what a person reading the raw log would conclude, not only
// the terminal events, because several endings leave a test without one:
//
//   - build-fail: the package (or its test binary) did not build. Its tests
//     have no events at all; the package carries the build output, taken from
//     build-output events (Go 1.24+) or, for older toolchains that print build
//     errors as plain text, from "# import/path" blocks of non-JSON lines.
//   - panic: the test failed and its own output has a line starting
//     "panic: ". When a subtest panics, testing prints the panic under the
//     top-level test after the subtest's fail event; the panic is given to the
//     subtest that failed last, whose output gets the trace appended. Tests
//     after a panic in the same package have no events and are not reported:
//     they did not run, they did not fail.
//   - timeout: the test was still running when its package ended and the
//     package printed "panic: test timed out".
//   - crashed: the test was still running when its package ended (or the
//     stream ended) without a timeout: os.Exit, a fatal runtime error, a
//     signal. If its output has a "panic: " line (a panic in a goroutine the
//     test started, which testing cannot recover), it is a panic instead.
//   - not-run: a parallel test paused waiting for its siblings and never
//     resumed before the package ended.
//
// A package's own outcome (Package.OutsideTests) is what went wrong outside
// any test: a build failure, a panic in init or TestMain, a timeout with no
// test running, a non-zero exit with no failing test. It is pass when the
// package's result is fully explained by its tests' outcomes.
//
// Repeated runs (-count=N) of one test combine into one outcome: the most
// severe run wins (panic > timeout > crashed > fail > pass > skip), every
// run's outcome is kept in Test.Runs, and a test whose runs include both a
// failing and a non-failing outcome is Flaky.
//
// A test can write raw events into the go command's stdout
// (/proc/$PPID/fd/1) and so forge results. Events the go command cannot
// have printed are not applied and are listed in Run.Tampered: a package's
// events after its result or before its start (Go 1.20+ prints start
// first), a package pass while one of its tests runs, a test result with no
// run, a run while the test runs, and in streams with start events a result
// whose run never printed testing's result line ("--- FAIL: TestX", which
// test2json turns into the result) and a run with no output at all (dropped
// when its package ends: test2json follows every run event with its
// "=== RUN" line). Of two results for one run, each with its line, the more
// severe stands, so a forged pass cannot hide a failure. Packages tested in
// parallel interleave their events in real streams, so interleaving is not
// a finding. A forgery that mimics test2json to the letter (run, output,
// result of a new test in a running package) cannot be told from real
// events and is applied: the stream alone cannot prove who wrote it.
//
// Package.Cached is set when go test replayed a package's result from its
// cache ("ok  pkg (cached)") rather than running its tests.
//
// Parsing never fails on content: lines that are not test2json events
// (stderr mixed into stdout, Go < 1.24 build errors, a killed process's
// partial last line) are kept as unattributed output.
package testjson

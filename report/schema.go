package report

import (
	"fmt"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/testjson"
)

// SchemaVersion is the version of the JSON record. It changes only when a
// field is removed or its meaning changes; new optional fields keep it.
// Version 2: re-runs are records (Result.Reruns: kind, index, outcome),
// every claim carries the test that decided it (Decision), and
// experiments are derived from their runs, control arm included.
const SchemaVersion = 2

// Report is the record of one Parity run (or several merged).
type Report struct {
	SchemaVersion int       `json:"schemaVersion"`
	Tool          Tool      `json:"tool"`
	CreatedAt     time.Time `json:"createdAt"`
	Source        Source    `json:"source"`
	Options       Options   `json:"options"`
	// Cells in matrix order (matrix.Sort).
	Cells []Cell `json:"cells"`
	// Tests has one row per (package, test), sorted by package then test;
	// a row whose Test is empty is the package itself.
	Tests       []TestRow    `json:"tests"`
	Divergences []Divergence `json:"divergences"`
	// Compile is what --compile found per GOOS/GOARCH target (compile.go).
	Compile []CompileTarget `json:"compile,omitempty"`
	// Conclusion is the verdict under Options.AllowDivergence; Verdict
	// recomputes it under another choice.
	Conclusion Verdict `json:"verdict"`
	// MergedFrom names the reports a merged report was made from.
	MergedFrom []Origin `json:"mergedFrom,omitempty"`

	// Re-runs (--reruns): tests whose outcome varied inside one cell, with
	// pass/fail counts per cell (report/flaky.go). Derived from the rows.
	Flaky []FlakyTest `json:"flaky,omitempty"`
	// Levels are the decision procedure's levels (report/decide.go).
	Levels Levels `json:"levels"`
	// PendingRuns and PendingExplain: the re-runs the report still asks
	// for at the next look, and the divergent tests whose experiments are
	// not done. A report with either is provisional (a merge whose recheck
	// stage has work; a run cut short): its verdict is not final.
	PendingRuns    int `json:"pendingRuns,omitempty"`
	PendingExplain int `json:"pendingExplain,omitempty"`

	// Shard is set when the run tested one shard of its cells' packages
	// (--shard I/N): Merge folds the shards of a cell back into one cell
	// (shard.go). Options.Packages stays the cell's whole patterns.
	Shard *Shard `json:"shard,omitempty"`
}

// Levels state how the report's claims were decided.
type Levels struct {
	// FamilyAlpha bounds, per claim, the chance that any row of the
	// report makes it falsely; RowAlpha the chance for one row.
	FamilyAlpha float64 `json:"familyAlpha"`
	RowAlpha    float64 `json:"rowAlpha"`
	Method      string  `json:"method"`
	// Looks are the alone re-runs per cell at which divergences are tested
	// (--reruns, then more up to --reruns-max); OrderLooks the
	// with-siblings runs per cell at which order dependence is.
	Looks      []int `json:"looks"`
	OrderLooks []int `json:"orderLooks"`
}

// Shard identifies one of the Total package sets a cell was split into
// (parity plan --shards), and which packages it tested.
type Shard struct {
	Index    int      `json:"index"` // 1-based
	Total    int      `json:"total"`
	Packages []string `json:"packages"` // as go test was given them
}

// String is "I/N", as --shard takes it.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Total) }

// Tool is the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Source is the module under test.
type Source struct {
	Module   string `json:"module"`             // module path from go.mod
	GoLine   string `json:"goLine"`             // go.mod's go line
	Revision string `json:"revision,omitempty"` // VCS revision, when known
	// GoSum and Pins are "sha256:<hex>" digests of go.sum (of nothing when
	// there is none) and of the image pins the run used (built-in and lock
	// file): reports merge when their module, go.sum and pins match, from
	// whichever checkout or machine they came. Empty when unknown.
	GoSum string `json:"goSum,omitempty"`
	Pins  string `json:"pins,omitempty"`
	// Tree is the digest of the whole source as the runtime saw it, with
	// the runtime's name ("dagger:sha256:<hex>", Dagger's Directory
	// digest): reports of the same kind merge only when it matches. Empty
	// where the runtime computes none (the CLI reads the source in place).
	Tree string `json:"tree,omitempty"`
	// Dir is the module's directory relative to the repository root ("" or
	// "." for the root); annotations use it to name files.
	Dir string `json:"dir,omitempty"`
}

// Options are the test options every cell ran with, as the user gave them.
type Options struct {
	Packages []string `json:"packages"`
	// Race is the race mode requested (e.g. "auto", "on", "off"); whether a
	// cell actually ran with -race is Cell.Race, with the decision that set it.
	Race            string            `json:"race,omitempty"`
	Count           int               `json:"count,omitempty"`
	Shuffle         string            `json:"shuffle,omitempty"` // "on", "off" or a seed
	Timeout         string            `json:"timeout,omitempty"` // go test -timeout, e.g. "10m0s"
	Run             string            `json:"run,omitempty"`
	Skip            string            `json:"skip,omitempty"`
	Tags            []string          `json:"tags,omitempty"`
	Failfast        bool              `json:"failfast,omitempty"`
	Short           bool              `json:"short,omitempty"`
	AllowDivergence bool              `json:"allowDivergence"`
	Extra           map[string]string `json:"extra,omitempty"` // other options, by name

	// Re-runs and experiments (--reruns, --reruns-max, --fail-on-flaky,
	// --explain).
	Reruns      int    `json:"reruns,omitempty"`
	RerunsMax   int    `json:"rerunsMax,omitempty"`
	FailOnFlaky bool   `json:"failOnFlaky,omitempty"`
	Explain     string `json:"explain,omitempty"`
}

// Meta is what the caller knows about the run besides the cells' results.
type Meta struct {
	Tool      Tool
	CreatedAt time.Time
	Source    Source
	Options   Options
}

// Cell is one cell's execution: where it ran, how it ended, and counts of
// its outcomes. Per-test outcomes are in Report.Tests.
type Cell struct {
	Cell           matrix.Cell       `json:"cell"`
	Name           string            `json:"name"` // Cell.String(), the key results use
	Runtime        string            `json:"runtime"`
	Status         job.Status        `json:"status"`
	Message        string            `json:"message,omitempty"`
	Image          string            `json:"image"`
	PlatformDigest string            `json:"platformDigest,omitempty"`
	Probe          map[string]string `json:"probe,omitempty"`
	Decisions      []job.Decision    `json:"decisions"`
	Race           bool              `json:"race"`

	Started         time.Time `json:"started,omitzero"`
	DurationSeconds float64   `json:"durationSeconds"`
	CPUSeconds      float64   `json:"cpuSeconds"`

	Counts Counts `json:"counts"`
	// ShuffleSeeds maps a package to the seed -shuffle used for it.
	ShuffleSeeds map[string]int64 `json:"shuffleSeeds,omitempty"`
	Steps        []Step           `json:"steps"`
	// Output is what the test step printed outside test2json events
	// (stderr, plain-text build errors), capped.
	Output string `json:"output,omitempty"`
	// StreamTruncated is set when the test stream ended inside a line.
	StreamTruncated bool `json:"streamTruncated,omitempty"`
	// Tampered lists the events of the test stream the go command cannot
	// have printed: a test wrote them into go test's output to forge
	// results. They were not applied; a tampered cell fails the verdict.
	Tampered []Tamper `json:"tampered,omitempty"`
}

// Tamper is one impossible event in a cell's test stream.
type Tamper struct {
	Package string `json:"package,omitempty"` // the package the event names
	Reason  string `json:"reason"`            // one line: what is impossible about it
}

// RanTests reports whether the cell's results are compared with others.
func (c Cell) RanTests() bool { return c.Status.RanTests() }

// Counts are a cell's outcomes. Test outcomes count tests and subtests;
// package-level problems (build-fail, a panic in init, ...) count packages
// in the same buckets. NotRun counts tests other cells ran and this one did
// not (only for cells that ran tests).
type Counts struct {
	Pass      int `json:"pass"`
	Fail      int `json:"fail"`
	Skip      int `json:"skip"`
	Panic     int `json:"panic"`
	Timeout   int `json:"timeout"`
	Crashed   int `json:"crashed"`
	BuildFail int `json:"buildFail"`
	NotRun    int `json:"notRun"`
	Flaky     int `json:"flaky"`
	// Cached counts packages whose result go test replayed from its cache
	// ("ok  pkg (cached)") instead of running their tests in this cell.
	Cached int `json:"cached,omitempty"`
}

// Other is every failing outcome that is not a plain fail.
func (c Counts) Other() int { return c.Panic + c.Timeout + c.Crashed + c.BuildFail }

// Step summarises one step of a cell.
type Step struct {
	Name            job.StepName `json:"name"`
	ExitCode        int          `json:"exitCode"`
	DurationSeconds float64      `json:"durationSeconds"`
	CPUSeconds      float64      `json:"cpuSeconds,omitempty"`
	Error           string       `json:"error,omitempty"` // the runtime's failure
	// ExitUnknown: the runtime went away before the step ended, so
	// ExitCode means nothing.
	ExitUnknown bool `json:"exitUnknown,omitempty"`
	// Cached: the runtime replayed an earlier run of this step from its
	// cache (Dagger); DurationSeconds is that run's, as the step recorded it.
	Cached bool `json:"cached,omitempty"`
	// StderrTail is the end of stderr of a failed step other than the test
	// step (whose output is in the tests and Cell.Output).
	StderrTail string `json:"stderrTail,omitempty"`
	// Shard is the shard ("2/3") whose run the step was, in a cell folded
	// from shards by Merge.
	Shard string `json:"shard,omitempty"`
}

// TestRow is one test (or one package: Test == "") across the cells.
type TestRow struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	// Results has one entry per cell that has an outcome for the row, in
	// cell order. A cell that ran tests but has no entry did not run it.
	Results   []Result `json:"results"`
	Failed    bool     `json:"failed"`              // some cell failed it
	Flaky     bool     `json:"flaky,omitempty"`     // some cell's repeated runs disagreed
	Divergent bool     `json:"divergent,omitempty"` // see Divergences
	// Cause is the likely cause for a row that failed or diverged.
	Cause *Cause `json:"cause,omitempty"`
	// Explanation (--explain) says which experiment, if any, turned the
	// divergent test green in a cell where it failed: derived from the
	// experiments' runs in Results.
	Explanation *Explanation `json:"explanation,omitempty"`
	// OrderDependent: it failed more often with its siblings than alone.
	OrderDependent bool `json:"orderDependent,omitempty"`
	// ViaSubtests: it failed, diverged or was flaky only through subtests
	// that are rows of their own with the same finding; counted once,
	// there, with this row as their context.
	ViaSubtests bool `json:"viaSubtests,omitempty"`
	// Decisions are the tests behind the row's words, held or not.
	Decisions []Decision `json:"decisions,omitempty"`
}

// Outcomes are the result's re-runs of the kind, in index order.
func (r Result) Outcomes(kind RunKind) []testjson.Outcome {
	var out []testjson.Outcome
	for _, rr := range sortedRuns(r, kind) {
		out = append(out, rr.Outcome)
	}
	return out
}

// IsPackage reports whether the row is a package's own outcome.
func (t TestRow) IsPackage() bool { return t.Test == "" }

// Result returns the row's result for the named cell.
func (t TestRow) Result(cell string) (Result, bool) {
	for _, r := range t.Results {
		if r.Cell == cell {
			return r, true
		}
	}
	return Result{}, false
}

// Result is a row's outcome in one cell.
//
// For package rows, the outcome is what happened outside any test
// (testjson.Package.OutsideTests): build-fail, panic (init, TestMain),
// timeout with no test running, fail (non-zero exit with no failing test),
// crashed; pass means nothing went wrong outside the package's tests.
type Result struct {
	Cell           string             `json:"cell"`
	Outcome        testjson.Outcome   `json:"outcome"`
	ElapsedSeconds float64            `json:"elapsedSeconds"`
	Runs           []testjson.Outcome `json:"runs,omitempty"` // with -count > 1
	Flaky          bool               `json:"flaky,omitempty"`
	// Output is the test's output (a package row: its build output or what
	// it printed outside tests). Capped at testjson.MaxOutput, and at
	// PassOutputLimit for passing results.
	Output          string            `json:"output,omitempty"`
	OutputTruncated bool              `json:"outputTruncated,omitempty"`
	Attrs           map[string]string `json:"attrs,omitempty"`
	// Cached is set when go test replayed the result from its cache: the
	// package's tests did not run in this cell this time.
	Cached bool `json:"cached,omitempty"`
	// Reruns (--reruns, experiments) are the test's re-runs in this cell,
	// each in a fresh container: alone, with its siblings, bisection
	// probes, an experiment's runs and its control's. Flaky is set when
	// the cell's runs (first, alone, with siblings) disagree on failing.
	Reruns []Rerun `json:"reruns,omitempty"`
	// OrderDependent is set in the cells where the row failed more often
	// with its siblings than alone (Decisions says by which test).
	OrderDependent bool `json:"orderDependent,omitempty"`

	// plain is the runs the decisions read (first, alone, with siblings),
	// set by finish: see allRuns.
	plain []testjson.Outcome
}

// Probe is one bisection run: the test with only these siblings of its
// package, the first run's flags and seed.
type Probe struct {
	Siblings []string         `json:"siblings"`
	Outcome  testjson.Outcome `json:"outcome"`
}

// Divergence is a row whose outcome differs between cells that ran it.
type Divergence struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	// Outcomes groups the compared cells by outcome, most severe first.
	Outcomes []OutcomeCells `json:"outcomes"`
	// Axes lists every axis ("go", "libc", "arch", "race") whose value alone
	// determines the outcome over the compared cells.
	Axes []string `json:"axes"`
	// Outliers, when no axis explains the divergence, are the cells whose
	// outcome differs from the most common one.
	Outliers []string `json:"outliers,omitempty"`
	// Mild is set when the outcomes are only pass and skip.
	Mild  bool  `json:"mild,omitempty"`
	Cause Cause `json:"cause"`
	// Intermittent is set when the test failed only some of its alone
	// re-runs in a cell. Counts are every compared cell's alone re-runs, the
	// runs the test decided on; PValue is Decision's.
	Intermittent bool        `json:"intermittent,omitempty"`
	Counts       []RunCounts `json:"counts,omitempty"`
	PValue       float64     `json:"pValue,omitempty"`
	// Decision is the test that found the divergence (with --reruns 0 its
	// Test is "none": one run per cell, nothing tested).
	Decision Decision `json:"decision"`
}

// RunCounts is how often a test failed in one cell over its alone
// re-runs.
type RunCounts struct {
	Cell string `json:"cell"`
	Fail int    `json:"fail"`
	Runs int    `json:"runs"`
}

// OutcomeCells is one outcome and the cells that had it.
type OutcomeCells struct {
	Outcome testjson.Outcome `json:"outcome"`
	Cells   []string         `json:"cells"`
}

// Cause is a likely explanation for a failure or divergence.
type Cause struct {
	ID   string `json:"id"`   // a Signature's ID, or "axis-<axis>", "flaky", ...
	Text string `json:"text"` // what probably happened
	Hint string `json:"hint,omitempty"`
	// Evidence is the output line that matched, from EvidenceCell.
	Evidence     string `json:"evidence,omitempty"`
	EvidenceCell string `json:"evidenceCell,omitempty"`
	// Generic is set when no signature matched and the cause only restates
	// what the separating axis suggests.
	Generic bool `json:"generic,omitempty"`
}

// Verdict is the run's conclusion.
type Verdict struct {
	OK              bool     `json:"ok"`
	AllowDivergence bool     `json:"allowDivergence"`
	Reasons         []string `json:"reasons"` // why not OK; empty when OK
	FailedTests     int      `json:"failedTests"`
	DivergentTests  int      `json:"divergentTests"`
	CellsNotRun     int      `json:"cellsNotRun"`
	// TamperedCells counts cells whose test output was forged (Cell.Tampered).
	TamperedCells int `json:"tamperedCells,omitempty"`
	// FlakyTests counts tests flaky in some cell: they fail the verdict only
	// with Options.FailOnFlaky.
	FlakyTests int `json:"flakyTests,omitempty"`
	// Provisional: the report still asks for runs (Report.PendingRuns,
	// PendingExplain): the verdict is not final, and not OK.
	Provisional bool `json:"provisional,omitempty"`
}

// Origin records one report merged into another.
type Origin struct {
	Tool      Tool      `json:"tool"`
	CreatedAt time.Time `json:"createdAt"`
	Cells     []string  `json:"cells"`
	Shard     *Shard    `json:"shard,omitempty"` // the input was this shard of its cells
}

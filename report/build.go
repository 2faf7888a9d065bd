package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/testjson"
)

// PassOutputLimit caps the output kept for a passing result: it is rarely
// read, and a verbose passing suite would otherwise dominate the record.
const PassOutputLimit = 4 << 10

// stderrTailLines is how much of a failed step's stderr a cell keeps.
const stderrTailLines = 20

// Runs is everything one report is made of: the cells' first runs, the
// re-runs of failing and divergent tests (alone and with their siblings),
// and what the experiments found. The pipeline gathers them; Build turns
// them into the report in one go, so a report never depends on the order
// it was patched in.
type Runs struct {
	Cells  []job.Result
	Reruns []RerunOf // alone, with siblings, probes, experiments and their controls
}

// Build makes the report of all of a run's runs. It is pure: results are
// parsed, not run. Results for the same cell replace earlier ones.
func Build(meta Meta, runs Runs) Report {
	byCell := map[matrix.Cell]job.Result{}
	for _, res := range runs.Cells {
		byCell[res.Cell] = res
	}
	r := Report{
		SchemaVersion: SchemaVersion,
		Tool:          meta.Tool,
		CreatedAt:     meta.CreatedAt,
		Source:        meta.Source,
		Options:       meta.Options,
	}
	rows := map[rowKey]*TestRow{}
	for _, mc := range sortedCells(byCell) {
		res := byCell[mc]
		cell, results := cellOf(res, meta.Options.Count)
		r.Cells = append(r.Cells, cell)
		for key, res := range results {
			row := rows[key]
			if row == nil {
				row = &TestRow{Package: key.pkg, Test: key.test}
				rows[key] = row
			}
			row.Results = append(row.Results, res)
		}
	}
	addReruns(rows, runs.Reruns)
	for _, row := range rows {
		r.Tests = append(r.Tests, *row)
	}
	r.Compile = CompileTargets(runs.Cells)
	return finish(r)
}

type rowKey struct{ pkg, test string }

func sortedCells(m map[matrix.Cell]job.Result) []matrix.Cell {
	cells := make([]matrix.Cell, 0, len(m))
	for c := range m {
		cells = append(cells, c)
	}
	matrix.Sort(cells)
	return cells
}

// cellOf turns one job.Result into its Cell and its per-row results. count
// is go test's -count (0: the default, 1).
func cellOf(res job.Result, count int) (Cell, map[rowKey]Result) {
	c := Cell{
		Cell:            res.Cell,
		Name:            res.Cell.String(),
		Runtime:         res.Runtime,
		Status:          res.Status,
		Message:         res.Message,
		Image:           res.Image,
		PlatformDigest:  res.PlatformDigest,
		Probe:           res.Probe,
		Decisions:       res.Decisions,
		Race:            res.Race,
		Started:         res.Started,
		DurationSeconds: res.Duration.Seconds(),
		CPUSeconds:      res.CPUSeconds,
	}
	if c.Decisions == nil {
		c.Decisions = []job.Decision{}
	}
	allCached := len(res.Steps) > 0
	var stepSeconds float64
	for _, s := range res.Steps {
		c.Steps = append(c.Steps, stepOf(s))
		allCached = allCached && s.Cached
		stepSeconds += s.Duration.Seconds()
	}
	if allCached {
		// Replayed whole from the runtime's cache: the time the cell took is
		// what its steps recorded when they ran, not the replay's.
		c.DurationSeconds = stepSeconds
		if first := res.Steps[0].Started; !first.IsZero() {
			c.Started = first
		}
	}
	if c.Steps == nil {
		c.Steps = []Step{}
	}
	results := map[rowKey]Result{}
	run, ok := res.TestRun()
	if !ok {
		return c, results
	}
	c.Output = run.Unattributed
	c.StreamTruncated = run.Truncated
	for _, f := range run.Tampered {
		c.Tampered = append(c.Tampered, Tamper{Package: f.Package, Reason: f.Reason})
	}
	// A cell killed for running out of time leaves its running tests without
	// an ending: they timed out, they did not crash.
	killed := res.Status == job.StatusTimeout
	// A cell stopped by the machine (killed, out of memory, cancelled, ...)
	// leaves them unfinished: not a failure of the test.
	cut := !res.Status.RanTests()
	for _, p := range run.Packages {
		if p.Shuffled {
			if c.ShuffleSeeds == nil {
				c.ShuffleSeeds = map[string]int64{}
			}
			c.ShuffleSeeds[p.ImportPath] = p.ShuffleSeed
		}
		if p.NoTestFiles {
			continue
		}
		o := p.OutsideTests
		switch {
		case killed && !p.Ended && o == testjson.Crashed:
			o = testjson.Timeout
		case cut && !p.Ended && (o == testjson.Crashed || o == testjson.Timeout):
			o = testjson.NotRun
		}
		pr := Result{Cell: c.Name, Outcome: o, ElapsedSeconds: p.Elapsed.Seconds(), Cached: p.Cached}
		switch {
		case o == testjson.BuildFail:
			pr.Output = p.BuildOutput
		case o != testjson.Pass:
			pr.Output = p.Output
		}
		results[rowKey{p.ImportPath, ""}] = pr
	}
	unended, cached := map[string]bool{}, map[string]bool{}
	for _, p := range run.Packages {
		unended[p.ImportPath] = !p.Ended
		cached[p.ImportPath] = p.Cached
	}
	for _, t := range run.Tests {
		o := t.Outcome
		switch {
		case killed && unended[t.Package] && o == testjson.Crashed:
			o = testjson.Timeout
		case cut && unended[t.Package] && (o == testjson.Crashed || o == testjson.Timeout):
			o = testjson.NotRun
		}
		if n := max(count, 1); len(t.Runs) > n {
			// go test runs each test -count times: more runs were forged
			// (to make a failure look flaky). The most severe stands.
			c.Tampered = append(c.Tampered, Tamper{Package: t.Package, Reason: fmt.Sprintf("%d runs of %s with -count=%d", len(t.Runs), t.Name, n)})
			t.Flaky, t.Runs = false, nil
		}
		tr := Result{
			Cell:            c.Name,
			Outcome:         o,
			ElapsedSeconds:  t.Elapsed.Seconds(),
			Flaky:           t.Flaky,
			Output:          t.Output,
			OutputTruncated: t.Truncated,
			Attrs:           t.Attrs,
			Cached:          cached[t.Package],
		}
		if len(t.Runs) > 1 {
			tr.Runs = t.Runs
		}
		if o == testjson.Pass {
			out, cut := testjson.Truncate(tr.Output, PassOutputLimit)
			tr.Output, tr.OutputTruncated = out, tr.OutputTruncated || cut
		}
		results[rowKey{t.Package, t.Name}] = tr
	}
	return c, results
}

func stepOf(s job.StepResult) Step {
	st := Step{
		Name:            s.Name,
		ExitCode:        s.ExitCode,
		DurationSeconds: s.Duration.Seconds(),
		CPUSeconds:      s.CPUSeconds,
		Error:           s.Err,
		Cached:          s.Cached,
		ExitUnknown:     s.RuntimeLost,
	}
	if s.Name != job.StepTest && (s.ExitCode != 0 || s.Err != "") {
		st.StderrTail = tail(s.Stderr, stderrTailLines)
	}
	return st
}

// tail returns the last n lines of s, capped like test output.
func tail(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out, _ := testjson.Truncate(strings.Join(lines, ""), PassOutputLimit)
	return out
}

// cellOrder returns the index of each cell name in r.Cells.
func cellOrder(cells []Cell) map[string]int {
	m := make(map[string]int, len(cells))
	for i, c := range cells {
		m[c.Name] = i
	}
	return m
}

// sortRows orders rows by package, the package row first, then tests by
// name segment, and each row's results by cell order.
func sortRows(rows []TestRow, cells []Cell) {
	order := cellOrder(cells)
	slices.SortFunc(rows, func(a, b TestRow) int {
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return testjson.CompareTestNames(a.Test, b.Test)
	})
	for i := range rows {
		slices.SortFunc(rows[i].Results, func(a, b Result) int { return order[a.Cell] - order[b.Cell] })
	}
}

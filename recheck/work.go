package recheck

import (
	"slices"

	"github.com/parity-ci/parity/report"
)

// Shares are what a report still asks for, per cell, without a Spec: what a
// merge's recheck plan lists, so a CI matrix can run one job per cell with
// work (parity recheck --cell). Each cell's job makes its share from the
// report; the next merge folds them in and asks again, until no cell has
// work. Which tests, of which kind, how many runs: the runs per cell.
type Shares map[string]CellWork

// CellWork is one cell's share.
type CellWork struct {
	Runs []report.Need `json:"runs,omitempty"`
	// Explain names the divergent tests whose experiments (and control)
	// run in this cell: which experiments apply is worked out there, from
	// the cell's own Specs.
	Explain []Target `json:"explain,omitempty"`
}

// Work lists the report's work: every run up to the last look of each
// undecided test (a recheck stage cannot wait for other cells' runs
// between looks), and, once every row is decided, the experiments not yet
// done.
func Work(rep report.Report) Shares {
	w := Shares{}
	for _, n := range report.Needs(rep, report.AllLooks) {
		cw := w[n.Cell]
		cw.Runs = append(cw.Runs, n)
		w[n.Cell] = cw
	}
	if len(w) > 0 || !report.Explains(rep) {
		return w
	}
	for _, s := range report.Subjects(rep) {
		if report.ExplainPending(rep, s) {
			cw := w[s.Fail]
			cw.Explain = append(cw.Explain, Target{s.Package, s.Test})
			w[s.Fail] = cw
		}
	}
	return w
}

// Cells are the cells with work, sorted.
func (w Shares) Cells() []string {
	var out []string
	for c := range w {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/parity-ci/parity/matrix"
)

// Merge combines reports of disjoint cells of the same source and options
// (say, one made on an amd64 host and one on an arm64 host) into the report
// one run over all their cells would have made: rows, divergences, counts
// and the verdict are recomputed.
//
// It refuses reports of different schema versions, modules, go lines,
// revisions, go.sum or pins digests, or test options, whose cells are not
// comparable, and a cell (by its coordinates) present twice: which of the
// two results to keep is not Merge's guess to make (rerun the cell, or drop
// one report). Paths never take part: the same module checked out in two
// places, on two machines, merges.
func Merge(reports ...Report) (Report, error) {
	if len(reports) == 0 {
		return Report{}, errors.New("merge: no reports")
	}
	reports, err := FoldShards(reports) // shards of a cell become one cell first
	if err != nil {
		return Report{}, err
	}
	first := reports[0]
	m := Report{
		SchemaVersion: first.SchemaVersion,
		Tool:          first.Tool,
		CreatedAt:     first.CreatedAt,
		Source:        first.Source,
		Options:       first.Options,
	}
	// By coordinates: a cell renamed in its report is still the same cell,
	// and folding two of them would lose one's results.
	seen := map[matrix.Cell]int{} // cell -> report number (1-based)
	rows := map[rowKey]*TestRow{}
	// The revision and digests to match are the first known ones: a report
	// without them (no git, an older Parity) must not let two that disagree
	// through.
	ref := first
	for _, r := range reports {
		ref.Source.Revision = cmp.Or(ref.Source.Revision, r.Source.Revision)
		ref.Source.GoSum = cmp.Or(ref.Source.GoSum, r.Source.GoSum)
		ref.Source.Pins = cmp.Or(ref.Source.Pins, r.Source.Pins)
		ref.Source.Tree = cmp.Or(ref.Source.Tree, r.Source.Tree)
	}
	for i, r := range reports {
		n := i + 1
		if err := compatible(ref, r, n); err != nil {
			return Report{}, err
		}
		if r.Source.Revision != "" {
			m.Source.Revision = r.Source.Revision
		}
		if r.Source.GoSum != "" {
			m.Source.GoSum = r.Source.GoSum
		}
		if r.Source.Tree != "" {
			m.Source.Tree = r.Source.Tree
		}
		if r.Source.Pins != "" {
			m.Source.Pins = r.Source.Pins
		}
		if r.CreatedAt.After(m.CreatedAt) {
			m.CreatedAt = r.CreatedAt
		}
		m.MergedFrom = append(m.MergedFrom, origins(r)...)
		m.Compile = append(m.Compile, r.Compile...) // each from its report's own cells
		for _, c := range r.Cells {
			if prev, dup := seen[c.Cell]; dup && prev == n {
				return Report{}, fmt.Errorf("merge: cell %s is in report %d twice: the report is damaged", c.Cell, n)
			} else if dup {
				return Report{}, fmt.Errorf("merge: cell %s is in report %d and report %d: merge reports of disjoint cells", c.Cell, prev, n)
			}
			if c.Name != c.Cell.String() {
				return Report{}, fmt.Errorf("merge: report %d names cell %s %q: the report is damaged", n, c.Cell, c.Name)
			}
			seen[c.Cell] = n
			m.Cells = append(m.Cells, c)
		}
		for _, row := range r.Tests {
			key := rowKey{row.Package, row.Test}
			if rows[key] == nil {
				rows[key] = &TestRow{Package: row.Package, Test: row.Test}
			}
			rows[key].Results = append(rows[key].Results, row.Results...)
		}
	}
	sortCells(m.Cells)
	for _, row := range rows {
		m.Tests = append(m.Tests, *row) // finish sorts rows and results
	}
	return finish(m), nil
}

// compatible checks that report n can be merged with the first.
func compatible(first, r Report, n int) error {
	switch {
	case r.SchemaVersion != first.SchemaVersion:
		return fmt.Errorf("merge: report %d has schema version %d, report 1 has %d: rewrite both with the same Parity version", n, r.SchemaVersion, first.SchemaVersion)
	case r.SchemaVersion != SchemaVersion:
		return fmt.Errorf("merge: report %d has schema version %d, this Parity merges version %d", n, r.SchemaVersion, SchemaVersion)
	case r.Source.Module != first.Source.Module:
		return fmt.Errorf("merge: report %d is of module %q, report 1 of %q", n, r.Source.Module, first.Source.Module)
	case r.Source.GoLine != first.Source.GoLine:
		return fmt.Errorf("merge: report %d has go line %q, report 1 has %q: different sources", n, r.Source.GoLine, first.Source.GoLine)
	case differ(r.Source.Revision, first.Source.Revision):
		return fmt.Errorf("merge: report %d is of revision %s, the others of %s", n, r.Source.Revision, first.Source.Revision)
	case differ(r.Source.GoSum, first.Source.GoSum):
		return fmt.Errorf("merge: report %d ran with another go.sum (%s) than the others (%s): different sources", n, r.Source.GoSum, first.Source.GoSum)
	case differ(r.Source.Tree, first.Source.Tree):
		return fmt.Errorf("merge: report %d tested another source tree (%s) than the others (%s): different sources", n, r.Source.Tree, first.Source.Tree)
	case differ(r.Source.Pins, first.Source.Pins):
		return fmt.Errorf("merge: report %d ran on other image pins (%s) than the others (%s): use the same lock file and Parity version", n, r.Source.Pins, first.Source.Pins)
	}
	a, errA := json.Marshal(first.Options)
	b, errB := json.Marshal(r.Options)
	if err := errors.Join(errA, errB); err != nil {
		return fmt.Errorf("merge: comparing options: %w", err)
	}
	if string(a) != string(b) {
		return fmt.Errorf("merge: report %d ran with options %s, report 1 with %s: results are not comparable", n, b, a)
	}
	return nil
}

// differ reports whether two revisions or digests are both known and not
// equal: a report without one merges on its other fields.
func differ(a, b string) bool { return a != "" && b != "" && a != b }

// origins returns what a report was made from: itself, or for a merged
// report the reports it merged.
func origins(r Report) []Origin {
	if len(r.MergedFrom) > 0 {
		return r.MergedFrom
	}
	o := Origin{Tool: r.Tool, CreatedAt: r.CreatedAt, Cells: []string{}}
	for _, c := range r.Cells {
		o.Cells = append(o.Cells, c.Name)
	}
	return []Origin{o}
}

func sortCells(cells []Cell) {
	mcs := make([]matrix.Cell, len(cells))
	byCell := map[matrix.Cell]Cell{}
	for i, c := range cells {
		mcs[i] = c.Cell
		byCell[c.Cell] = c
	}
	matrix.Sort(mcs)
	for i, mc := range mcs {
		cells[i] = byCell[mc]
	}
}

// AddReruns folds re-run records (made after the report, e.g. by `parity
// recheck` on another machine) into the report and decides again, as if
// they had been made in the run: the report one run with those re-runs
// would have made. It refuses a record for a row or cell the report does
// not have, and one the report already holds (the same kind, index,
// experiment and siblings): a run counted twice would bias the tests.
func AddReruns(r Report, reruns []RerunOf) (Report, error) {
	rows := map[rowKey]*TestRow{}
	r.Tests = slices.Clone(r.Tests) // the caller's report stays as it was
	for i := range r.Tests {
		row := &r.Tests[i]
		rows[rowKey{row.Package, row.Test}] = row
		row.Results = slices.Clone(row.Results)
		for j := range row.Results {
			row.Results[j].Reruns = slices.Clone(row.Results[j].Reruns)
		}
	}
	for _, rr := range reruns {
		row, ok := rows[rowKey{rr.Package, rr.Test}]
		if !ok {
			return Report{}, fmt.Errorf("re-run of %s: the report has no such row", rowName(TestRow{Package: rr.Package, Test: rr.Test}))
		}
		j := slices.IndexFunc(row.Results, func(res Result) bool { return res.Cell == rr.Cell })
		if j < 0 {
			return Report{}, fmt.Errorf("re-run of %s in %s: the report has no result there", rowName(*row), rr.Cell)
		}
		res := &row.Results[j]
		if slices.ContainsFunc(res.Reruns, func(x Rerun) bool { return x.key() == rr.key() }) {
			return Report{}, fmt.Errorf("re-run %s %d of %s in %s is already in the report: fold each recheck result once", rr.Kind, rr.Index, rowName(*row), rr.Cell)
		}
		res.Reruns = append(res.Reruns, rr.Rerun)
	}
	return finish(r), nil
}

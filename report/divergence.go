package report

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/parity-ci/parity/testjson"
)

// Axes of the matrix a divergence can follow, in the order they are listed.
// "race" is whether the cell ran with -race: failures only the race
// detector sees are among the most common divergences.
const (
	AxisGo   = "go"
	AxisLibc = "libc"
	AxisArch = "arch"
	AxisRace = "race"
)

// AxisNames lists the axes in display order.
var AxisNames = []string{AxisGo, AxisLibc, AxisArch, AxisRace}

// AxisValue returns the cell's value on the named axis.
func AxisValue(c Cell, axis string) string {
	switch axis {
	case AxisGo:
		return c.Cell.Go
	case AxisLibc:
		return string(c.Cell.Libc)
	case AxisArch:
		return string(c.Cell.Arch)
	case AxisRace:
		return strconv.FormatBool(c.Race)
	}
	return ""
}

// comparedResults returns the row's results that take part in comparisons:
// outcomes that ran, in cells that ran tests, where the test is not flaky
// (a divergence stands only between cells that each agree with themselves).
func comparedResults(row TestRow, compared map[string]Cell) []Result {
	var out []Result
	for _, res := range row.Results {
		if _, ok := compared[res.Cell]; ok && res.Outcome.Ran() && !res.Flaky {
			out = append(out, res)
		}
	}
	return out
}

// diverge reports whether the row's outcome differs between the cells that
// ran it, and if so how.
func diverge(row TestRow, compared map[string]Cell) (Divergence, bool) {
	results := comparedResults(row, compared)
	groups := groupOutcomes(results)
	if len(groups) < 2 {
		return Divergence{}, false
	}
	d := Divergence{Package: row.Package, Test: row.Test, Outcomes: groups, Axes: []string{}}
	d.Mild = !slices.ContainsFunc(groups, func(g OutcomeCells) bool {
		return g.Outcome != testjson.Pass && g.Outcome != testjson.Skip
	})
	var cells []string
	for _, res := range results {
		cells = append(cells, res.Cell)
	}
	for _, axis := range axesOf(cells, compared) {
		if explains(axis, results, compared) {
			d.Axes = append(d.Axes, axis)
		}
	}
	if len(d.Axes) == 0 {
		d.Outliers = outliers(groups, results)
	}
	d.Cause = diagnoseDivergence(row, d, results, compared)
	return d, true
}

// groupOutcomes groups results by outcome, most severe first (the order of
// testjson.Outcomes), cells in result order.
func groupOutcomes(results []Result) []OutcomeCells {
	var groups []OutcomeCells
	for _, o := range testjson.Outcomes {
		var cells []string
		for _, res := range results {
			if res.Outcome == o {
				cells = append(cells, res.Cell)
			}
		}
		if cells != nil {
			groups = append(groups, OutcomeCells{Outcome: o, Cells: cells})
		}
	}
	return groups
}

// explains reports whether the outcome is a function of the axis's value
// over the results' cells. Results are known to disagree, so a function of
// the axis implies the axis takes at least two values.
func explains(axis string, results []Result, compared map[string]Cell) bool {
	byValue := map[string]testjson.Outcome{}
	for _, res := range results {
		v := AxisValue(compared[res.Cell], axis)
		if o, seen := byValue[v]; seen && o != res.Outcome {
			return false
		}
		byValue[v] = res.Outcome
	}
	return true
}

// outliers returns the cells whose outcome is not the most common one. On
// a tie, the majority is the least alarming outcome (pass before skip
// before failures), so the failing cells are the ones named.
func outliers(groups []OutcomeCells, results []Result) []string {
	rank := func(o testjson.Outcome) int {
		switch o {
		case testjson.Pass:
			return 0
		case testjson.Skip:
			return 1
		}
		return 2 + slices.Index(testjson.Outcomes, o)
	}
	majority := slices.MaxFunc(groups, func(a, b OutcomeCells) int {
		if c := cmp.Compare(len(a.Cells), len(b.Cells)); c != 0 {
			return c
		}
		return cmp.Compare(rank(b.Outcome), rank(a.Outcome))
	})
	var out []string
	for _, res := range results {
		if res.Outcome != majority.Outcome {
			out = append(out, res.Cell)
		}
	}
	return out
}

package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parity-ci/parity/testjson"
)

// runCounts counts a result's failed runs and runs (first run and
// re-runs; a run with no outcome is not counted).
func runCounts(res Result) RunCounts {
	rc := RunCounts{Cell: res.Cell}
	for _, o := range allRuns(res) {
		if !o.Ran() {
			continue
		}
		rc.Runs++
		if o.Failed() {
			rc.Fail++
		}
	}
	return rc
}

// axisSplit is the strongest one-sided evidence, over the axis's values,
// that the cells with one value fail more often than the others.
type axisSplit struct {
	axis, value string
	p           float64
	// open: that value's cells failed and the others never did, but the
	// counts do not support it yet: more runs may.
	open bool
}

// splits tests every axis that takes two values or more over the results.
func splits(results []Result, compared map[string]Cell) []axisSplit {
	var out []axisSplit
	for _, axis := range AxisNames {
		pooled := map[string]RunCounts{}
		for _, res := range results {
			v := AxisValue(compared[res.Cell], axis)
			rc, pc := runCounts(res), pooled[v]
			pc.Fail, pc.Runs = pc.Fail+rc.Fail, pc.Runs+rc.Runs
			pooled[v] = pc
		}
		if len(pooled) < 2 {
			continue
		}
		best := axisSplit{axis: axis, p: 1}
		for _, v := range slices.Sorted(func(yield func(string) bool) {
			for k := range pooled {
				if !yield(k) {
					return
				}
			}
		}) {
			var rest RunCounts
			for w, pc := range pooled {
				if w != v {
					rest.Fail, rest.Runs = rest.Fail+pc.Fail, rest.Runs+pc.Runs
				}
			}
			a := pooled[v]
			p := FisherOneSided(a.Fail, a.Runs, rest.Fail, rest.Runs)
			if p < best.p || best.value == "" {
				best = axisSplit{axis: axis, value: v, p: p}
			}
			if a.Fail > 0 && rest.Fail == 0 && p >= Alpha {
				best.open = best.open || best.value == v
			}
		}
		out = append(out, best)
	}
	return out
}

// intermittent reports a divergence that only counts show: the row is
// flaky in some compared cell, and the cells of one value of an axis fail
// more often than the others by more than chance (one-sided Fisher exact
// test below Alpha).
func intermittent(row TestRow, compared map[string]Cell) (Divergence, bool) {
	var results []Result
	for _, res := range row.Results {
		if _, ok := compared[res.Cell]; ok && res.Outcome.Ran() {
			results = append(results, res)
		}
	}
	if !slices.ContainsFunc(results, func(r Result) bool { return r.Flaky }) {
		return Divergence{}, false
	}
	d := Divergence{Package: row.Package, Test: row.Test, Axes: []string{}, Intermittent: true, PValue: 1}
	for _, s := range splits(results, compared) {
		if s.p < Alpha {
			d.Axes = append(d.Axes, s.axis)
			d.PValue = min(d.PValue, s.p)
		}
	}
	if len(d.Axes) == 0 {
		return Divergence{}, false
	}
	// Each cell by whether it ever failed: its most severe failed outcome,
	// else pass.
	byRuns := make([]Result, len(results))
	for i, res := range results {
		rc := runCounts(res)
		d.Counts = append(d.Counts, rc)
		byRuns[i] = res
		byRuns[i].Outcome = testjson.Pass
		for _, o := range allRuns(res) {
			if o.Failed() && (byRuns[i].Outcome == testjson.Pass || slices.Index(testjson.Outcomes, o) < slices.Index(testjson.Outcomes, byRuns[i].Outcome)) {
				byRuns[i].Outcome = o
			}
		}
		byRuns[i].Flaky = false
	}
	slices.SortStableFunc(d.Counts, func(a, b RunCounts) int { return b.Fail*a.Runs - a.Fail*b.Runs }) // highest rate first
	d.Outcomes = groupOutcomes(byRuns)
	d.Cause = diagnoseDivergence(row, d, byRuns, compared)
	return d, true
}

// Undecided lists the rows whose counts cannot tell flaky from divergent
// yet: flaky, not divergent, and failing only in the cells of one value of
// an axis, without the counts to support it. More re-runs
// (--reruns-max) decide them.
func Undecided(r Report) []TestRow {
	compared := map[string]Cell{}
	for _, c := range r.Cells {
		if c.Status.Compared() {
			compared[c.Name] = c
		}
	}
	var out []TestRow
	for _, row := range r.Tests {
		if row.Divergent || !row.Flaky || row.IsPackage() {
			continue
		}
		var results []Result
		for _, res := range row.Results {
			if _, ok := compared[res.Cell]; ok && res.Outcome.Ran() {
				results = append(results, res)
			}
		}
		if slices.ContainsFunc(splits(results, compared), func(s axisSplit) bool { return s.open }) {
			out = append(out, row)
		}
	}
	return out
}

// CountsText says how often a test failed per cell, highest rate first:
// "fails 2 of 3 on go1.26.8/musl/amd64, 0 of 6 on go1.26.8/glibc/amd64".
func CountsText(counts []RunCounts) string {
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%d of %d on %s", c.Fail, c.Runs, c.Cell)
	}
	return "fails " + strings.Join(parts, ", ")
}

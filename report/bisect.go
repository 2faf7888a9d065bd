package report

import (
	"slices"
	"strings"
)

// MaxProbes bounds the bisection runs for one order-dependent test: enough
// to single out one sibling of 64 (two runs per halving at most), few
// enough to stay affordable when a package has hundreds.
const MaxProbes = 12

// Siblings are the candidates a bisection searches: the other top-level
// tests of the row's package that ran in the cell, by name. With a -run
// that keeps only some of them and the same -shuffle seed, go test keeps
// their relative order (testing shuffles the whole list before it
// filters), so a sibling that ran before the test in the first run runs
// before it in every probe.
func Siblings(rows []TestRow, row TestRow, cell string) []string {
	var out []string
	for _, r := range rows {
		if r.Package != row.Package || r.IsPackage() || r.Test == row.Test || strings.Contains(r.Test, "/") {
			continue
		}
		if res, ok := r.Result(cell); ok && res.Outcome.Ran() {
			out = append(out, r.Test)
		}
	}
	slices.Sort(out)
	return out
}

// Bisect is the next bisection step for a test that fails with all of
// cands and passes alone, given the probes made so far (in order): the
// siblings to run it with next, or done with the one sibling it fails
// after ("" when the probes found none: the failure needs two siblings
// together, or did not reproduce). It halves the set known to hold the
// culprit, trying the first half, then the second; each step is a pure
// function of the probes, so the report can replay it.
func Bisect(cands []string, probes []Probe) (next []string, culprit string, done bool) {
	set, read := cands, 0
	for {
		if len(set) == 0 || read >= MaxProbes {
			return nil, "", true
		}
		mid := (len(set) + 1) / 2
		narrowed := false
		for _, half := range [][]string{set[:mid], set[mid:]} {
			if len(half) == 0 {
				continue
			}
			if read == len(probes) {
				return half, "", false
			}
			p := probes[read]
			read++
			if !slices.Equal(p.Siblings, half) {
				return nil, "", true // not this plan's probes: nothing to conclude
			}
			if p.Outcome.Failed() {
				if len(half) == 1 {
					return nil, half[0], true
				}
				set, narrowed = half, true
				break
			}
		}
		if !narrowed {
			return nil, "", true
		}
	}
}

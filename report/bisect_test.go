package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/testjson"
)

// bisectWith runs Bisect to the end against fails, which says whether the
// test fails with the given siblings.
func bisectWith(t *testing.T, cands []string, fails func([]string) bool) (string, []Probe) {
	t.Helper()
	var probes []Probe
	for range MaxProbes + 2 {
		next, culprit, done := Bisect(cands, probes)
		if done {
			return culprit, probes
		}
		o := testjson.Pass
		if fails(next) {
			o = testjson.Fail
		}
		probes = append(probes, Probe{Siblings: next, Outcome: o})
	}
	t.Fatalf("Bisect never finished: %d probes", len(probes))
	return "", nil
}

func sibNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Test%02d", i)
	}
	return out
}

func TestBisectFindsTheSibling(t *testing.T) {
	for n := 1; n <= 64; n++ {
		cands := sibNames(n)
		for _, culprit := range cands {
			got, probes := bisectWith(t, cands, func(s []string) bool { return slices.Contains(s, culprit) })
			if got != culprit {
				t.Fatalf("%d siblings, culprit %s: found %q after %+v", n, culprit, got, probes)
			}
			if len(probes) > MaxProbes {
				t.Fatalf("%d siblings: %d probes, more than %d", n, len(probes), MaxProbes)
			}
		}
	}
}

func TestBisectNamesNoneWithoutOne(t *testing.T) {
	cands := sibNames(10)
	// Only two siblings together leave the state behind.
	got, probes := bisectWith(t, cands, func(s []string) bool {
		return slices.Contains(s, "Test01") && slices.Contains(s, "Test08")
	})
	if got != "" {
		t.Fatalf("named %s, though no sibling alone makes it fail (probes %+v)", got, probes)
	}
	// The failure did not come back at all.
	if got, _ := bisectWith(t, cands, func([]string) bool { return false }); got != "" {
		t.Fatalf("named %s with every probe passing", got)
	}
	// Probes that are not this plan's (another run's) conclude nothing.
	if next, c, done := Bisect(cands, []Probe{{Siblings: []string{"Test09"}, Outcome: testjson.Fail}}); !done || c != "" || next != nil {
		t.Fatalf("foreign probe: next %v culprit %q done %v", next, c, done)
	}
}

func TestSiblingsAreTopLevelTestsThatRan(t *testing.T) {
	res := func(o testjson.Outcome) []Result { return []Result{{Cell: "c", Outcome: o}} }
	rows := []TestRow{
		{Package: "p", Results: res(testjson.Fail)},
		{Package: "p", Test: "TestA", Results: res(testjson.Pass)},
		{Package: "p", Test: "TestA/sub", Results: res(testjson.Pass)},
		{Package: "p", Test: "TestB", Results: res(testjson.NotRun)},
		{Package: "p", Test: "TestC", Results: res(testjson.Skip)},
		{Package: "p", Test: "TestT", Results: res(testjson.Fail)},
		{Package: "q", Test: "TestD", Results: res(testjson.Pass)},
	}
	if got := strings.Join(Siblings(rows, rows[5], "c"), ","); got != "TestA,TestC" {
		t.Fatalf("siblings %s, want TestA,TestC", got)
	}
}

package testjson

import (
	"slices"
	"testing"
)

func TestCombine(t *testing.T) {
	for _, c := range []struct {
		runs  []Outcome
		want  Outcome
		flaky bool
	}{
		{nil, NotRun, false},
		{[]Outcome{Pass}, Pass, false},
		{[]Outcome{Pass, Pass}, Pass, false},
		{[]Outcome{Fail, Pass}, Fail, true},
		{[]Outcome{Pass, Panic}, Panic, true},
		{[]Outcome{Fail, Timeout}, Timeout, false},
		{[]Outcome{Skip, Pass}, Pass, false},
		{[]Outcome{Skip, Fail}, Fail, true},
		{[]Outcome{Pass, NotRun}, Pass, false},
		{[]Outcome{Crashed, Fail}, Crashed, false},
	} {
		got, flaky := Combine(c.runs)
		if got != c.want || flaky != c.flaky {
			t.Errorf("Combine(%v) = %v, %v; want %v, %v", c.runs, got, flaky, c.want, c.flaky)
		}
	}
}

func TestOutcomePredicates(t *testing.T) {
	failed := map[Outcome]bool{Fail: true, BuildFail: true, Panic: true, Timeout: true, Crashed: true}
	for _, o := range Outcomes {
		if o.Failed() != failed[o] {
			t.Errorf("%v.Failed() = %v", o, o.Failed())
		}
		if o.Ran() != (o != NotRun) {
			t.Errorf("%v.Ran() = %v", o, o.Ran())
		}
	}
}

func TestCompareTestNames(t *testing.T) {
	names := []string{"TestA-b", "TestA/x", "TestB", "TestA", "TestA/x/y"}
	want := []string{"TestA", "TestA/x", "TestA/x/y", "TestA-b", "TestB"}
	slices.SortFunc(names, CompareTestNames)
	if !slices.Equal(names, want) {
		t.Errorf("sorted = %v, want %v", names, want)
	}
}

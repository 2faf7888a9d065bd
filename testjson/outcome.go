package testjson

// Outcome is what happened to a test or a package in one cell.
type Outcome string

const (
	Pass      Outcome = "pass"
	Fail      Outcome = "fail"
	Skip      Outcome = "skip"
	BuildFail Outcome = "build-fail"
	Panic     Outcome = "panic"
	Timeout   Outcome = "timeout"
	Crashed   Outcome = "crashed"
	NotRun    Outcome = "not-run"
)

// Outcomes lists every outcome, most severe first: the order reports use.
var Outcomes = []Outcome{BuildFail, Panic, Timeout, Crashed, Fail, Pass, Skip, NotRun}

// Failed reports whether the outcome counts as a failure.
func (o Outcome) Failed() bool {
	switch o {
	case Fail, BuildFail, Panic, Timeout, Crashed:
		return true
	}
	return false
}

// Ran reports whether the test produced an outcome at all: not-run results
// are never compared with other cells.
func (o Outcome) Ran() bool { return o != NotRun && o != "" }

// severity orders outcomes for combining repeated runs: higher wins.
func (o Outcome) severity() int {
	switch o {
	case BuildFail:
		return 7
	case Panic:
		return 6
	case Timeout:
		return 5
	case Crashed:
		return 4
	case Fail:
		return 3
	case Pass:
		return 2
	case Skip:
		return 1
	}
	return 0
}

// Combine folds the outcomes of repeated runs into one (the most severe)
// and reports whether they disagree on failing: flaky.
func Combine(runs []Outcome) (o Outcome, flaky bool) {
	o = NotRun
	var failed, passed bool
	for _, r := range runs {
		if r.severity() > o.severity() {
			o = r
		}
		if r.Failed() {
			failed = true
		} else if r.Ran() {
			passed = true
		}
	}
	return o, failed && passed
}

package recheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// ExplainMode is --explain: auto runs experiments when at most AutoMax
// tests diverge.
type ExplainMode string

const (
	ExplainAuto ExplainMode = "auto"
	ExplainOn   ExplainMode = "on"
	ExplainOff  ExplainMode = "off"
)

// AutoMax is how many divergent tests --explain=auto explains at most.
const AutoMax = 10

// ParseExplain accepts auto, on and off ("" is auto).
func ParseExplain(s string) (ExplainMode, error) {
	switch m := ExplainMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return ExplainAuto, nil
	case ExplainAuto, ExplainOn, ExplainOff:
		return m, nil
	}
	return "", fmt.Errorf("bad value %q (want auto, on or off)", s)
}

// Experiment is one row of the table: a factor flipped in the failing cell
// towards the passing one.
type Experiment struct {
	ID string
	// Description completes "passes on <cell> with ...".
	Description string
	// Axes are the divergence axes the factor belongs to; the experiment is
	// tried when the divergence follows one of them or no axis at all.
	Axes []string
	// Apply fills the change for a failing and a passing cell, or reports
	// that the factor does not differ or cannot be flipped there.
	Apply func(s Setting) (Change, bool)
}

// Setting is what an experiment is planned from: the failing cell's Spec
// (where it runs), the passing cell's, and the pins (images by Go and libc).
type Setting struct {
	Fail, Pass job.Spec
	Pins       matrix.Pins
}

// Experiments is the table --explain tries, in order; the first that turns
// a test green is the one reported.
var Experiments = []Experiment{
	{ID: "race-off", Description: "-race off", Axes: []string{report.AxisRace},
		Apply: func(s Setting) (Change, bool) {
			return Change{NoRace: true}, s.Fail.Race && !s.Pass.Race
		}},
	{ID: "c-stack-8m", Description: "8 MiB C thread stacks", Axes: []string{report.AxisLibc},
		Apply: func(s Setting) (Change, bool) {
			// musl's default thread stack is 128 KiB, glibc's 8 MiB; musl
			// takes a bigger default from PT_GNU_STACK, which only the
			// external linker writes.
			return Change{Flags: []string{"-ldflags=-linkmode=external -extldflags=-Wl,-z,stack-size=8388608"}}, cgo(s.Fail)
		}},
	{ID: "cgo-flip", Description: "CGO_ENABLED flipped", Axes: []string{report.AxisLibc},
		Apply: func(s Setting) (Change, bool) {
			if cgo(s.Fail) {
				return Change{Env: []string{"CGO_ENABLED=0"}, NoRace: true}, true // -race needs cgo
			}
			return Change{Env: []string{"CGO_ENABLED=1"}}, true
		}},
	{ID: "netdns-go", Description: "GODEBUG=netdns=go", Axes: []string{report.AxisLibc},
		Apply: func(Setting) (Change, bool) {
			return Change{Env: []string{"GODEBUG=netdns=go"}}, true
		}},
	{ID: "zoneinfo-go", Description: "ZONEINFO=$GOROOT/lib/time/zoneinfo.zip", Axes: []string{report.AxisLibc, report.AxisGo},
		Apply: func(Setting) (Change, bool) {
			return Change{Prelude: `export ZONEINFO="$(go env GOROOT)/lib/time/zoneinfo.zip"`}, true
		}},
	{ID: "fma-off", Description: "fused multiply-add off (-gcflags=all=-d=fmahash=n)", Axes: []string{report.AxisArch},
		Apply: func(s Setting) (Change, bool) {
			// The compiler fuses x*y+z into one instruction (one rounding)
			// on these; amd64 (v1) and 386 never do. fmahash=n matches no
			// site: nothing is fused, in every package built.
			return Change{Flags: []string{"-gcflags=all=-d=fmahash=n"}}, fuses(s.Fail.Cell.Arch) && s.Fail.Cell.Arch != s.Pass.Cell.Arch
		}},
	{ID: "godebug-old", Description: "GODEBUG defaults of the passing cell's Go (the settings whose default changed in between, from the go command's table)", Axes: []string{report.AxisGo},
		Apply: func(s Setting) (Change, bool) {
			lo, ok1 := minor(s.Pass.Cell.Go)
			hi, ok2 := minor(s.Fail.Cell.Go)
			if !ok1 || !ok2 || hi <= lo {
				return Change{}, false // only a newer failing Go changed defaults the passing one has
			}
			return Change{Prelude: godebugPrelude(lo, hi)}, true
		}},
	imageFile("file-mime-types", "/etc/mime.types", "/etc/mime.types", false),
	imageFile("file-services", "/etc/services", "/etc/services", false),
	imageFile("file-zoneinfo", "/usr/share/zoneinfo", "/usr/share/zoneinfo", true),
	imageFile("file-passwd", "/etc/passwd", "/etc/passwd", false),
	imageFile("program-bash", "/usr/bin/bash", "/usr/local/bin/bash", false),
	imageFile("program-git", "/usr/bin/git", "/usr/local/bin/git", false),
	{ID: "go-version", Description: "the passing cell's Go on this cell's libc", Axes: []string{report.AxisGo},
		Apply: func(s Setting) (Change, bool) {
			// Even when that image is the passing cell's own, the run is the
			// failing cell's (its flags, environment, limits) with only Go
			// changed.
			return pinnedImage(s, matrix.Cell{Go: s.Pass.Cell.Go, Libc: s.Fail.Cell.Libc, Arch: s.Fail.Cell.Arch}, s.Fail.Cell.Go != s.Pass.Cell.Go)
		}},
	// Last, the broadest: when nothing above pins the libc divergence
	// down, this tells the image (the C library and every file in it) from
	// the rest of how the cell was set up for its libc.
	{ID: "libc-image", Description: "the passing cell's image (its C library and files), this cell's Go and settings", Axes: []string{report.AxisLibc},
		Apply: func(s Setting) (Change, bool) {
			return pinnedImage(s, matrix.Cell{Go: s.Fail.Cell.Go, Libc: s.Pass.Cell.Libc, Arch: s.Fail.Cell.Arch}, s.Fail.Cell.Libc != s.Pass.Cell.Libc)
		}},
}

// pinnedImage runs the failing cell's run on the pinned image of cell,
// when differs says the factor differs and the lock has such an image.
func pinnedImage(s Setting, cell matrix.Cell, differs bool) (Change, bool) {
	if !differs {
		return Change{}, false
	}
	_, ref, err := s.Pins.Lookup(cell)
	if err != nil {
		return Change{}, false // the lock has no such image
	}
	return Change{Image: ref.String()}, true
}

// imageFile is an experiment that copies one file or program, read-only,
// from the passing cell's image into the failing cell.
func imageFile(id, path, target string, dir bool) Experiment {
	name := path[strings.LastIndex(path, "/")+1:]
	desc := path
	program := strings.HasPrefix(id, "program-")
	if program {
		desc = name
	}
	return Experiment{
		ID: id, Description: desc + " from the passing cell's image", Axes: []string{report.AxisLibc, report.AxisGo, report.AxisArch},
		Apply: func(s Setting) (Change, bool) {
			fail, pass := s.Fail, s.Pass
			if fail.Image == pass.Image && fail.Platform == pass.Platform {
				return Change{}, false
			}
			if program && fail.Platform != pass.Platform {
				return Change{}, false // another arch's binary cannot run here
			}
			ch := Change{Mounts: []job.Mount{{Kind: job.MountImagePath, Image: pass.Image, Platform: pass.Platform,
				Path: path, Target: target, ReadOnly: true, Dir: dir}}}
			if program && fail.Cell.Libc != pass.Cell.Libc {
				// Another libc's program runs only if it is static: try it
				// first, and say so instead of testing with a broken copy.
				ch.Prelude = fmt.Sprintf("%s --version >/dev/null 2>&1 || { echo 'parity: %s from the passing image cannot run here (linked against its libc)' >&2; exit 3; }", target, name)
			}
			return ch, true
		},
	}
}

func cgo(s job.Spec) bool { return slices.Contains(s.Env, "CGO_ENABLED=1") }

// fuses reports whether the Go compiler fuses multiply-add on the arch.
func fuses(a matrix.Arch) bool {
	switch a {
	case "arm64", "ppc64le", "ppc64", "s390x", "riscv64", "loong64":
		return true
	}
	return false
}

// minor is the minor version of a Go version ("1.27.1" is 27).
func minor(v string) (int, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "go"), ".")
	if len(parts) < 2 || parts[0] != "1" {
		return 0, false
	}
	n, err := strconv.Atoi(parts[1])
	return n, err == nil
}

// godebugPrelude sets GODEBUG to the old value of every setting whose
// default changed after Go 1.lo up to 1.hi, read from the running Go's own
// table (GOROOT/src/internal/godebugs/table.go: {Name: "x", ..., Changed:
// N, Old: "v"}). Defaults follow the main module's go line, so this flips
// only what that line lets change.
func godebugPrelude(lo, hi int) string {
	return fmt.Sprintf(`gd=$(awk -v lo=%d -v hi=%d 'match($0, /Changed: [0-9]+/) { c = substr($0, RSTART+9, RLENGTH-9) + 0; if (c > lo && c <= hi && match($0, /Name: "[^"]+"/)) { n = substr($0, RSTART+7, RLENGTH-8); if (match($0, /Old: "[^"]*"/)) { o = substr($0, RSTART+6, RLENGTH-7); s = s (s == "" ? "" : ",") n "=" o } } } END { print s }' "$(go env GOROOT)/src/internal/godebugs/table.go")
[ -n "$gd" ] || { echo 'parity: no GODEBUG default changed between Go 1.%d and 1.%d' >&2; exit 3; }
export GODEBUG="${GODEBUG:+$GODEBUG,}$gd"`, lo, hi, lo, hi)
}

// MaxTrialRuns bounds the runs of one experiment.
const MaxTrialRuns = 10

// RunsToConfirm is how many runs an experiment needs, all passing, to
// confirm a cause for a test that failed failures of runs times unchanged,
// when tried experiments are tried for it: the fewest n for which a test
// failing at that rate would pass n runs in a row with probability below
// report.Alpha/tried (so that, over all the experiments tried, a chance
// confirmation stays below report.Alpha). The rate is taken as
// failures/(runs+1), so a few failures are not taken for certainty; at
// most MaxTrialRuns.
func RunsToConfirm(failures, runs, tried int) int {
	if failures <= 0 || runs <= 0 {
		return MaxTrialRuns
	}
	level := report.Alpha / float64(max(tried, 1))
	pass := 1 - float64(failures)/float64(runs+1)
	chance := 1.0
	for n := 1; n <= MaxTrialRuns; n++ {
		if chance *= pass; chance < level {
			return n
		}
	}
	return MaxTrialRuns
}

// ShouldExplain applies the mode to the number of divergent tests; the
// zero mode is off.
func ShouldExplain(m ExplainMode, divergent int) bool {
	switch m {
	case ExplainOn:
		return divergent > 0
	case ExplainAuto:
		return divergent > 0 && divergent <= AutoMax
	}
	return false
}

// Subject is one divergent test to explain: where it failed and the
// passing cell each factor is flipped towards.
type Subject struct {
	Target
	Fail, Pass string
	// Failures of Runs: the test's runs in the failing cell, unchanged
	// (first run and re-runs). They decide how many runs an experiment
	// needs (RunsToConfirm).
	Failures, Runs int
}

// Subjects picks, for each divergent test with a failing side, a cell
// where it failed and the passing cell closest to it (fewest differing
// axes): the factor that separates them is the one to find.
func Subjects(rep report.Report) []Subject {
	cells := map[string]report.Cell{}
	for _, c := range rep.Cells {
		cells[c.Name] = c
	}
	var out []Subject
	for _, d := range rep.Divergences {
		if d.Mild || d.Test == "" {
			continue
		}
		var fail string
		var passing []string
		for _, g := range d.Outcomes {
			switch {
			case g.Outcome.Failed() && fail == "":
				fail = g.Cells[0]
			case g.Outcome == testjson.Pass:
				passing = g.Cells
			}
		}
		if fail == "" || len(passing) == 0 {
			continue
		}
		best := slices.MinFunc(passing, func(a, b string) int {
			return distance(cells[fail], cells[a]) - distance(cells[fail], cells[b])
		})
		s := Subject{Target: Target{d.Package, d.Test}, Fail: fail, Pass: best}
		s.Failures, s.Runs = countsIn(rep, s.Target, fail)
		out = append(out, s)
	}
	return out
}

// countsIn counts the test's failed runs and runs in the cell.
func countsIn(rep report.Report, t Target, cell string) (failures, runs int) {
	for _, row := range rep.Tests {
		if row.Package != t.Package || row.Test != t.Test {
			continue
		}
		res, ok := row.Result(cell)
		if !ok {
			return 0, 0
		}
		all := res.Runs
		if len(all) == 0 {
			all = []testjson.Outcome{res.Outcome}
		}
		for _, o := range append(slices.Clone(all), res.Reruns...) {
			if o.Ran() {
				runs++
				if o.Failed() {
					failures++
				}
			}
		}
	}
	return failures, runs
}

func distance(a, b report.Cell) int {
	n := 0
	for _, axis := range report.AxisNames {
		if report.AxisValue(a, axis) != report.AxisValue(b, axis) {
			n++
		}
	}
	return n
}

// PlanExperiments returns RunsToConfirm runs of each applicable experiment
// per subject, in the subject's failing cell. Run them by Attempt (all
// first runs, then the second runs of the experiments whose runs all
// passed, ...: NextRuns): a run not made has a zero job.Result.
func PlanExperiments(rep report.Report, specs []job.Spec, pins matrix.Pins, subjects []Subject, table []Experiment) []Run {
	byCell := specsByCell(specs)
	axes := map[Target][]string{}
	for _, d := range rep.Divergences {
		axes[Target{d.Package, d.Test}] = d.Axes
	}
	var runs []Run
	for _, s := range subjects {
		fail, ok1 := byCell[s.Fail]
		pass, ok2 := byCell[s.Pass]
		if !ok1 || !ok2 {
			continue
		}
		type trial struct {
			x  Experiment
			ch Change
		}
		var trials []trial
		for _, x := range table {
			if !appliesTo(x, axes[s.Target]) {
				continue
			}
			if ch, ok := x.Apply(Setting{Fail: fail, Pass: pass, Pins: pins}); ok {
				trials = append(trials, trial{x, ch})
			}
		}
		n := RunsToConfirm(s.Failures, s.Runs, len(trials))
		for _, tr := range trials {
			x, ch := tr.x, tr.ch
			for attempt := 1; attempt <= n; attempt++ {
				c := ch
				// Each run afresh: a runtime that caches steps must not
				// replay the first.
				c.Env = append(slices.Clone(ch.Env), fmt.Sprintf("PARITY_RERUN=%s-%d", x.ID, attempt))
				runs = append(runs, Run{Spec: Reduce(fail, []Target{s.Target}, c), Cell: s.Fail, Targets: []Target{s.Target}, Trial: x.ID, Attempt: attempt})
			}
		}
	}
	return runs
}

func appliesTo(x Experiment, axes []string) bool {
	if len(axes) == 0 || len(x.Axes) == 0 {
		return true
	}
	return slices.ContainsFunc(x.Axes, func(a string) bool { return slices.Contains(axes, a) })
}

// Explain reads the experiments' results (in run order) into one
// explanation per subject. An experiment confirms only when the test passed
// every one of its runs (RunsToConfirm of them): one lucky pass of a test
// that fails at some rate proves nothing, and neither does a skip or a
// build failure.
func Explain(subjects []Subject, runs []Run, results []job.Result, table []Experiment) map[[2]string]report.Explanation {
	desc := map[string]string{}
	for _, x := range table {
		desc[x.ID] = x.Description
	}
	out := map[[2]string]report.Explanation{}
	for _, s := range subjects {
		e := report.Explanation{Cell: s.Fail, Passing: s.Pass, Tried: []report.Trial{}}
		at := map[string]int{} // experiment id -> index in e.Tried
		planned := map[string]int{}
		for _, run := range runs {
			if run.Cell == s.Fail && slices.Contains(run.Targets, s.Target) {
				planned[run.Trial]++
			}
		}
		for i, run := range runs {
			if run.Cell != s.Fail || !slices.Contains(run.Targets, s.Target) || i >= len(results) || results[i].Status == "" {
				continue // not this subject's, or not made (an earlier run failed)
			}
			j, seen := at[run.Trial]
			if !seen {
				j = len(e.Tried)
				at[run.Trial] = j
				e.Tried = append(e.Tried, report.Trial{ID: run.Trial, Description: desc[run.Trial]})
			}
			tr := &e.Tried[j]
			tr.Runs++
			o, ok := outcomes(run, results[i])[s.Target]
			switch {
			case !ok:
				if tr.Error == "" {
					if tr.Error = results[i].Message; tr.Error == "" {
						tr.Error = string(results[i].Status)
					}
				}
			case o == testjson.Pass:
				tr.Passes++
			}
			// The trial's outcome: its first run's, or the first that did
			// not pass.
			if ok && (tr.Outcome == "" || tr.Outcome == testjson.Pass && o != testjson.Pass) {
				tr.Outcome = o
			}
		}
		for _, tr := range e.Tried {
			if !e.Confirmed && tr.Runs > 0 && tr.Passes == tr.Runs && tr.Runs == planned[tr.ID] {
				e.Confirmed, e.Experiment = true, tr.ID
				e.Text = fmt.Sprintf("confirmed: passes %d of %d runs on %s with %s", tr.Passes, tr.Runs, s.Fail, tr.Description)
				if s.Runs > 0 {
					e.Text += fmt.Sprintf(" (unchanged, it fails %d of %d)", s.Failures, s.Runs)
				}
			}
		}
		if !e.Confirmed {
			e.Text = notConfirmed(e.Tried)
		}
		out[[2]string{s.Package, s.Test}] = e
	}
	return out
}

func notConfirmed(tried []report.Trial) string {
	if len(tried) == 0 {
		return "not confirmed: no experiment applies"
	}
	var parts []string
	for _, t := range tried {
		o := string(t.Outcome)
		switch {
		case o == "":
			o = "did not run"
		case t.Runs > 1:
			o = fmt.Sprintf("passes %d of %d", t.Passes, t.Runs)
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", t.Description, o))
	}
	return "not confirmed: tried " + strings.Join(parts, ", ")
}

// NextRuns returns the indexes of the runs to make next: those of the
// lowest attempt not made yet whose experiment (trial and subject) passed
// every run made so far. made[i] says run i was made, passed[i] that its
// targets all passed.
func NextRuns(runs []Run, made, passed []bool) []int {
	type key struct {
		trial, cell string
		target      Target
	}
	k := func(r Run) key {
		var t Target
		if len(r.Targets) > 0 {
			t = r.Targets[0]
		}
		return key{r.Trial, r.Cell, t}
	}
	alive := map[key]bool{}
	for i, r := range runs {
		if _, ok := alive[k(r)]; !ok {
			alive[k(r)] = true
		}
		if made[i] && !passed[i] {
			alive[k(r)] = false
		}
	}
	next := 0
	for i, r := range runs {
		if !made[i] && alive[k(r)] && (next == 0 || r.Attempt < next) {
			next = r.Attempt
		}
	}
	var out []int
	for i, r := range runs {
		if !made[i] && alive[k(r)] && r.Attempt == next {
			out = append(out, i)
		}
	}
	return out
}

// Passed reports whether every target of the run passed in its result.
func Passed(run Run, res job.Result) bool {
	got := outcomes(run, res)
	for _, t := range run.Targets {
		if got[t] != testjson.Pass {
			return false
		}
	}
	return len(run.Targets) > 0
}

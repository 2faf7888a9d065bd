package recheck

import (
	"fmt"
	"slices"
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
	imageFile("file-mime-types", "/etc/mime.types", "/etc/mime.types", false),
	imageFile("file-services", "/etc/services", "/etc/services", false),
	imageFile("file-zoneinfo", "/usr/share/zoneinfo", "/usr/share/zoneinfo", true),
	imageFile("file-passwd", "/etc/passwd", "/etc/passwd", false),
	imageFile("program-bash", "/usr/bin/bash", "/usr/local/bin/bash", false),
	imageFile("program-git", "/usr/bin/git", "/usr/local/bin/git", false),
	{ID: "go-version", Description: "the passing cell's Go on this cell's libc", Axes: []string{report.AxisGo},
		Apply: func(s Setting) (Change, bool) {
			if s.Fail.Cell.Go == s.Pass.Cell.Go {
				return Change{}, false
			}
			_, ref, err := s.Pins.Lookup(matrix.Cell{Go: s.Pass.Cell.Go, Libc: s.Fail.Cell.Libc, Arch: s.Fail.Cell.Arch})
			if err != nil {
				return Change{}, false // the lock has no such image
			}
			img := ref.String()
			if img == s.Pass.Image && s.Fail.Platform == s.Pass.Platform {
				return Change{}, false // that is the passing cell itself
			}
			return Change{Image: img}, true
		}},
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
			return Change{Mounts: []job.Mount{{Kind: job.MountImagePath, Image: pass.Image, Platform: pass.Platform,
				Path: path, Target: target, ReadOnly: true, Dir: dir}}}, true
		},
	}
}

func cgo(s job.Spec) bool { return slices.Contains(s.Env, "CGO_ENABLED=1") }

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
		out = append(out, Subject{Target: Target{d.Package, d.Test}, Fail: fail, Pass: best})
	}
	return out
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

// PlanExperiments returns one run per applicable experiment per subject,
// in the subject's failing cell.
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
		for _, x := range table {
			if !appliesTo(x, axes[s.Target]) {
				continue
			}
			ch, ok := x.Apply(Setting{Fail: fail, Pass: pass, Pins: pins})
			if !ok {
				continue
			}
			runs = append(runs, Run{Spec: Reduce(fail, []Target{s.Target}, ch), Cell: s.Fail, Targets: []Target{s.Target}, Trial: x.ID})
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
// explanation per subject. Only a pass confirms: an experiment that made
// the test skip or not build proves nothing.
func Explain(subjects []Subject, runs []Run, results []job.Result, table []Experiment) map[[2]string]report.Explanation {
	desc := map[string]string{}
	for _, x := range table {
		desc[x.ID] = x.Description
	}
	out := map[[2]string]report.Explanation{}
	for _, s := range subjects {
		e := report.Explanation{Cell: s.Fail, Passing: s.Pass, Tried: []report.Trial{}}
		for i, run := range runs {
			if run.Cell != s.Fail || !slices.Contains(run.Targets, s.Target) || i >= len(results) {
				continue
			}
			tr := report.Trial{ID: run.Trial, Description: desc[run.Trial]}
			if o, ok := outcomes(run, results[i])[s.Target]; ok {
				tr.Outcome = o
			} else if tr.Error = results[i].Message; tr.Error == "" {
				tr.Error = string(results[i].Status)
			}
			if tr.Outcome == testjson.Pass && !e.Confirmed {
				e.Confirmed, e.Experiment = true, tr.ID
				e.Text = fmt.Sprintf("confirmed: passes on %s with %s", s.Fail, tr.Description)
			}
			e.Tried = append(e.Tried, tr)
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
		if o == "" {
			o = "did not run"
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", t.Description, o))
	}
	return "not confirmed: tried " + strings.Join(parts, ", ")
}

package recheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
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
const AutoMax = report.AutoMax

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
	{ID: "race-off", Description: "-race off", Axes: []string{report.AxisRace, report.AxisArch},
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

// PlanExperiments returns the next round of experiments for each subject
// (report.Subjects) in its failing cell: every applicable experiment and
// the control arm (the test unchanged, alone) make runs side by side, 1,
// then up to 3, 7, 15, ... until report.ArmRuns of each. An experiment is
// dropped once it cannot be confirmed any more (report.ArmAlive) or gave
// no outcome; the control runs while any experiment is alive. None when
// every subject is done.
func PlanExperiments(rep report.Report, specs []job.Spec, pins matrix.Pins, subjects []report.Subject, table []Experiment, nonce string) []Run {
	byCell := specsByCell(specs)
	axes := map[Target][]string{}
	for _, d := range rep.Divergences {
		axes[Target{d.Package, d.Test}] = d.Axes
	}
	seeds := map[string]map[string]int64{}
	for _, c := range rep.Cells {
		seeds[c.Name] = c.ShuffleSeeds
	}
	var runs []Run
	for _, s := range subjects {
		target := Target{s.Package, s.Test}
		fail, ok1 := byCell[s.Fail]
		pass, ok2 := byCell[s.Pass]
		if !ok1 || !ok2 || fail.NotRunnable != "" {
			continue
		}
		type trial struct {
			rank int
			x    Experiment
			ch   Change
		}
		var trials []trial
		for i, x := range table {
			if !appliesTo(x, axes[target]) {
				continue
			}
			if ch, ok := x.Apply(Setting{Fail: fail, Pass: pass, Pins: pins}); ok {
				trials = append(trials, trial{i + 1, x, ch})
			}
		}
		made := report.ExperimentRuns(rep, s)
		if len(trials) == 0 {
			// No experiment applies: one control run records that the
			// subject was looked at, so the report is not left waiting.
			if len(made[""]) == 0 {
				runs = append(runs, Run{Spec: Reduce(fail, []Target{target}, seeds[s.Fail], Change{Env: []string{rerunEnv(nonce, report.RunControl, 1, "")}}),
					Cell: s.Fail, Kind: report.RunControl, Index: 1, Targets: []Target{target}, Towards: s.Pass})
			}
			continue
		}
		n := report.ArmRuns(s.Failures, s.Runs, len(trials), s.Alpha)
		// The arms move in step: the round's target is the next of 1, 3,
		// 7, ... above what the live arms have made.
		var alive []trial
		done := n
		for _, tr := range trials {
			if report.ArmLive(made[tr.x.ID], n, len(trials), s.Alpha) {
				alive = append(alive, tr)
				done = min(done, len(made[tr.x.ID]))
			}
		}
		if len(alive) == 0 {
			continue
		}
		target2 := 1
		for target2 <= done {
			target2 = 2*target2 + 1
		}
		target2 = min(target2, n)
		mk := func(kind report.RunKind, id, desc string, rank, index int, ch Change) Run {
			c := ch
			c.Env = append(slices.Clone(ch.Env), rerunEnv(nonce, kind, index, id))
			return Run{Spec: Reduce(fail, []Target{target}, seeds[s.Fail], c), Cell: s.Fail, Kind: kind, Index: index,
				Targets: []Target{target}, Trial: id, Description: desc, Rank: rank, Towards: s.Pass}
		}
		for i := len(made[""]) + 1; i <= target2; i++ {
			runs = append(runs, mk(report.RunControl, "", "", 0, i, Change{}))
		}
		for _, tr := range alive {
			for i := len(made[tr.x.ID]) + 1; i <= target2; i++ {
				runs = append(runs, mk(report.RunExperiment, tr.x.ID, tr.x.Description, tr.rank, i, tr.ch))
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

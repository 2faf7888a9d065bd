package report

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/testjson"
)

// CompileTarget is what --compile found for one GOOS/GOARCH target: the
// test packages that do not build for it. Targets run no tests, so they
// are reported apart from the cells.
type CompileTarget struct {
	Target string `json:"target"` // GOOS/GOARCH
	Cell   string `json:"cell"`   // the cell whose Go built it
	// Built is set when the go command went through every package for the
	// target; when not, Message says why (the cell stopped before the
	// step, or go itself failed).
	Built    bool             `json:"built"`
	Message  string           `json:"message,omitempty"`
	Packages int              `json:"packages"` // packages the go command reported on
	Failures []CompileFailure `json:"failures,omitempty"`
}

// CompileFailure is one package that does not build for a target.
type CompileFailure struct {
	Package string `json:"package"`
	Error   string `json:"error"`  // the first error, without its file position
	Output  string `json:"output"` // the compiler's (or vet's) output
}

// OK reports whether the target built every package.
func (t CompileTarget) OK() bool { return t.Built && len(t.Failures) == 0 }

// Problems are one line per package that does not build, or why the
// target was not built: "example.com/m/x does not build for
// windows/amd64: undefined: sep".
func (t CompileTarget) Problems() []string {
	var out []string
	for _, f := range t.Failures {
		out = append(out, fmt.Sprintf("%s does not build for %s: %s", f.Package, t.Target, f.Error))
	}
	if !t.Built {
		out = append(out, fmt.Sprintf("%s was not built: %s", t.Target, t.Message))
	}
	return out
}

// compileReasons are the verdict's reasons from the compile targets.
func (r Report) compileReasons() []string {
	var out []string
	for _, t := range r.Compile {
		out = append(out, t.Problems()...)
	}
	return out
}

// CompileTargets reads the compile step of every cell that carried one
// (its compile-targets decision names the targets): per target, the
// packages whose build failed. A cell that stopped before the step lists
// its targets as not built, with the cell's message.
func CompileTargets(results []job.Result) []CompileTarget {
	var out []CompileTarget
	for _, res := range results {
		targets := compileTargetsOf(res.Decisions)
		if len(targets) == 0 {
			continue
		}
		var step *job.StepResult
		for i := range res.Steps {
			if res.Steps[i].Name == job.StepCompile {
				step = &res.Steps[i]
			}
		}
		chunks := map[string]compileChunk{}
		if step != nil {
			chunks = splitCompileOutput(step.Stdout)
		}
		for _, t := range targets {
			ct := CompileTarget{Target: t, Cell: res.Cell.String()}
			ch, ok := chunks[t]
			switch {
			case step == nil:
				ct.Message = fmt.Sprintf("cell %s stopped before its compile step (%s)", ct.Cell, strings.TrimSpace(string(res.Status)+": "+res.Message))
			case step.Err != "":
				ct.Message = "the compile step failed: " + step.Err
			case !ok || !ch.ended:
				ct.Message = "the compile step ended before this target finished" + lastLineSuffix(step.Stderr)
			default:
				ct.Built, ct.Packages, ct.Failures = true, len(ch.run.Packages), ch.failures()
				if ch.exit != 0 && len(ct.Failures) == 0 {
					ct.Built = false
					ct.Message = fmt.Sprintf("go test exited %d: %s", ch.exit, firstLine(ch.run.Unattributed))
				}
			}
			out = append(out, ct)
		}
	}
	return out
}

func compileTargetsOf(ds []job.Decision) []string {
	for _, d := range ds {
		if d.Policy == policies.IDCompile && d.Effect != "" {
			return strings.Split(d.Effect, ",")
		}
	}
	return nil
}

type compileChunk struct {
	run   testjson.Run
	exit  int
	ended bool
}

// splitCompileOutput cuts the step's stdout at its marker lines into one
// go test stream per target.
func splitCompileOutput(stdout string) map[string]compileChunk {
	out := map[string]compileChunk{}
	var target string
	var buf strings.Builder
	for line := range strings.Lines(stdout) {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), policies.CompileMarker)
		if !ok {
			buf.WriteString(line)
			continue
		}
		f := strings.Fields(rest)
		switch {
		case len(f) == 2 && f[0] == "target":
			target = f[1]
			buf.Reset()
			out[target] = compileChunk{}
		case len(f) == 3 && f[0] == "exit" && f[1] == target:
			n, err := strconv.Atoi(f[2])
			if err != nil {
				continue
			}
			out[target] = compileChunk{run: testjson.ParseString(buf.String()), exit: n, ended: true}
			target = ""
			buf.Reset()
		}
	}
	return out
}

var position = regexp.MustCompile(`^\S+\.(go|s|c):\d+(:\d+)?: `)

func (c compileChunk) failures() []CompileFailure {
	var out []CompileFailure
	for _, p := range c.run.Packages {
		if !p.Outcome.Failed() {
			continue // nothing runs in the step: any failure is the build's or vet's
		}
		f := CompileFailure{Package: p.ImportPath, Output: p.BuildOutput}
		for line := range strings.Lines(p.BuildOutput) {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f.Error = position.ReplaceAllString(line, "")
			break
		}
		if f.Error == "" {
			f.Error = "build failed (see the compile step's output)"
		}
		out = append(out, f)
	}
	return out
}

func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if l := strings.TrimSpace(line); l != "" {
			return l
		}
	}
	return "no output"
}

func lastLineSuffix(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return ": " + l
	}
	return ""
}

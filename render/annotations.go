package render

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// Annotations writes a GitHub workflow command per place a failure points
// at, so that the failure shows on that line of the pull request:
//
//	::error file=pkg/foo_test.go,line=12,title=TestFoo (go1.26.8/musl/amd64)::got 1 want 2
//
// Places come from testing's log lines ("    foo_test.go:12: got 1 want
// 2"), from the first frame in the package's test files of a panic's
// stack, and from compiler errors of a package that did not build. Paths
// are relative to the repository: Source.Dir, then the package's directory
// within the module (compiler errors are already relative to the module). The same place failing in several cells is one
// annotation naming the cells.
func Annotations(w io.Writer, r report.Report) error {
	bw := bufio.NewWriter(w)
	for _, row := range r.Tests {
		if !(row.Failed || row.Divergent) || row.ViaSubtests || redundantParent(r.Tests, row) {
			continue
		}
		for _, a := range rowAnnotations(r, row) {
			fmt.Fprintf(bw, "::error file=%s,line=%d,title=%s::%s\n",
				escapeProperty(a.file), a.line, escapeProperty(a.title(r, row)), escapeData(a.message))
		}
	}
	// Forged output points at no line: one annotation per cell, so that the
	// run's page says why it failed.
	for _, c := range tamperedCells(r) {
		fmt.Fprintf(bw, "::error title=%s::%s\n", escapeProperty("forged test output in "+c.Name),
			escapeData(fmt.Sprintf("a test wrote %s into go test's output that the go command cannot print, first: %s", plural(len(c.Tampered), "event"), tamperText(c.Tampered[0]))))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing annotations: %w", err)
	}
	return nil
}

type annotation struct {
	file    string
	line    int
	message string
	cells   []string
}

func (a annotation) title(r report.Report, row report.TestRow) string {
	name := row.Test
	if row.IsPackage() {
		name = shortPackage(r, row.Package) + " did not build"
	}
	ran := 0
	for _, res := range row.Results {
		if res.Outcome.Ran() {
			ran++
		}
	}
	if len(a.cells) == ran && ran > 1 {
		return name + " (all cells that ran it)"
	}
	return name + " (" + strings.Join(a.cells, ", ") + ")"
}

// rowAnnotations collects the places the row's failing results point at.
func rowAnnotations(r report.Report, row report.TestRow) []annotation {
	dir := packageDir(r, row.Package)
	repoPath := func(file string) string { return path.Join(r.Source.Dir, file) }
	var out []annotation
	for _, res := range row.Results {
		if !res.Outcome.Failed() {
			continue
		}
		var places []annotation
		switch {
		case row.IsPackage():
			places = compilerPlaces(res.Output)
		case strings.Contains(res.Output, "WARNING: DATA RACE"):
			// The race report's frames say where the racing accesses are.
			places = append(stackPlaces(res.Output, dir), logPlaces(res.Output, dir)...)
		default:
			places = logPlaces(res.Output, dir)
			if len(places) == 0 && res.Outcome != testjson.Fail {
				places = stackPlaces(res.Output, dir)
			}
		}
		for _, p := range places {
			p.file = repoPath(p.file)
			i := indexPlace(out, p)
			if i < 0 {
				p.cells = nil
				out = append(out, p)
				i = len(out) - 1
			}
			out[i].cells = append(out[i].cells, res.Cell)
		}
	}
	return out
}

func indexPlace(list []annotation, p annotation) int {
	for i, a := range list {
		if a.file == p.file && a.line == p.line {
			return i
		}
	}
	return -1
}

// packageDir returns the package's directory within the module: the
// import path less the module path ("" for the module's root package).
func packageDir(r report.Report, pkg string) string {
	mod := r.Source.Module
	switch {
	case mod == "":
		return pkg
	case pkg == mod:
		return ""
	case strings.HasPrefix(pkg, mod+"/"):
		return strings.TrimPrefix(pkg, mod+"/")
	}
	return pkg // not in the module: the best guess left
}

// logLine matches testing's log lines: "    foo_test.go:12: message".
var logLine = regexp.MustCompile(`^(\s+)([^\s:/]+\.go):(\d+): (.*)$`)

// logPlaces finds testing's log lines in output. A message continues on the
// following lines indented deeper than its first.
func logPlaces(output, dir string) []annotation {
	var out []annotation
	var indent string
	var cur *annotation
	for line := range strings.Lines(output) {
		line = strings.TrimRight(line, "\r\n")
		if m := logLine.FindStringSubmatch(line); m != nil {
			cur = nil
			if m[2] == "testing.go" { // the testing package's own notes ("race detected ...")
				continue
			}
			out = append(out, annotation{file: path.Join(dir, m[2]), line: atoi(m[3]), message: m[4]})
			cur, indent = &out[len(out)-1], m[1]
			continue
		}
		if cur != nil && strings.HasPrefix(line, indent+" ") {
			cur.message += "\n" + strings.TrimPrefix(line, indent+"    ")
			continue
		}
		cur = nil
	}
	return out
}

// stackFrame matches a stack trace's file line: "\t/src/pkg/foo_test.go:10 +0x28".
var stackFrame = regexp.MustCompile(`^\s+(\S+_test\.go):(\d+)(?: \+0x[0-9a-f]+)?$`)

// stackPlaces points a panic, timeout, crash or data race at the first
// frame in one of the package's test files, with the panic (or race) line
// as the message.
func stackPlaces(output, dir string) []annotation {
	msg := ""
	for line := range strings.Lines(output) {
		line = strings.TrimRight(line, "\r\n")
		if msg == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") || line == "WARNING: DATA RACE") {
			msg = line
		}
		m := stackFrame.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		// The frame's path is the container's; keep it only if it ends in
		// the package's directory.
		if d := path.Dir(m[1]); dir != "" && !strings.HasSuffix(d, "/"+dir) && d != dir {
			continue
		}
		if msg == "" {
			msg = report.FirstMessage(output)
		}
		return []annotation{{file: path.Join(dir, path.Base(m[1])), line: atoi(m[2]), message: msg}}
	}
	return nil
}

// compilerError matches the go command's build errors, whose paths are
// relative to the module root: "pkg/foo_test.go:6:17: cannot use ...".
var compilerError = regexp.MustCompile(`^(?:vet: )?([^\s:]+\.go):(\d+)(?::\d+)?: (.*)$`)

func compilerPlaces(output string) []annotation {
	var out []annotation
	for line := range strings.Lines(output) {
		if m := compilerError.FindStringSubmatch(strings.TrimRight(line, "\r\n")); m != nil && !path.IsAbs(m[1]) {
			out = append(out, annotation{file: m[1], line: atoi(m[2]), message: m[3]})
		}
	}
	return out
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// escapeData escapes a workflow command's message.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

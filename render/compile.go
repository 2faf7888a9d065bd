package render

import (
	"fmt"

	"github.com/parity-ci/parity/report"
)

// The --compile targets: shown apart from the cells, since they run no
// tests. Each renderer lists every target and, per target, the packages
// that do not build for it.

func compileSummary(ct report.CompileTarget) string {
	switch {
	case !ct.Built:
		return "not built: " + ct.Message
	case len(ct.Failures) == 0:
		return fmt.Sprintf("%s built (with %s)", plural(ct.Packages, "package"), ct.Cell)
	}
	return fmt.Sprintf("%d of %s do not build (with %s)", len(ct.Failures), plural(ct.Packages, "package"), ct.Cell)
}

func (t *term) compile(r report.Report) {
	if len(r.Compile) == 0 {
		return
	}
	t.heading(fmt.Sprintf("COMPILE TARGETS (%d)", len(r.Compile)))
	for _, ct := range r.Compile {
		mark := t.paint(ansiGreen, "ok  ")
		if !ct.OK() {
			mark = t.paint(ansiRed, "FAIL")
		}
		t.line("  %s %s: %s", mark, ct.Target, printable(compileSummary(ct)))
		for _, f := range ct.Failures {
			t.line("    %s does not build for %s: %s", f.Package, ct.Target, printable(f.Error))
		}
	}
}

func (m *md) compileSection() {
	if len(m.r.Compile) == 0 {
		return
	}
	m.printf("### Compile targets (%d)\n\n", len(m.r.Compile))
	m.printf("| Target | Result |\n|---|---|\n")
	for _, ct := range m.r.Compile {
		m.printf("| %s | %s |\n", cellText(ct.Target), cellText(compileSummary(ct)))
	}
	m.printf("\n")
	for _, ct := range m.r.Compile {
		for _, f := range ct.Failures {
			m.printf("<details><summary>%s does not build for %s: %s</summary>\n\n%s\n</details>\n\n",
				htmlEscaper.Replace(f.Package), htmlEscaper.Replace(ct.Target), htmlEscaper.Replace(f.Error), fenced(f.Output))
		}
	}
}

// compileSuites are one <testsuite> per target, "compile GOOS/GOARCH",
// with a <failure> test case per package that does not build, an <error>
// one when the target was not built, and one passing case otherwise.
func compileSuites(r report.Report) []junitSuite {
	var out []junitSuite
	for _, ct := range r.Compile {
		s := junitSuite{Name: "compile " + ct.Target, Time: seconds(0),
			Properties: []junitProperty{{"cell", ct.Cell}, {"packages", fmt.Sprint(ct.Packages)}}}
		for _, f := range ct.Failures {
			s.Cases = append(s.Cases, junitCase{Classname: f.Package, Name: packageCaseName, Time: seconds(0),
				Failure: &junitProblem{Message: xmlText(fmt.Sprintf("%s does not build for %s: %s", f.Package, ct.Target, f.Error)), Type: "build-fail", Body: xmlText(f.Output)}})
			s.Failures++
		}
		switch {
		case !ct.Built:
			s.Cases = append(s.Cases, junitCase{Classname: "compile", Name: ct.Target, Time: seconds(0),
				Error: &junitProblem{Message: xmlText(ct.Target + " was not built: " + ct.Message), Type: "not-built"}})
			s.Errors++
		case len(ct.Failures) == 0:
			s.Cases = append(s.Cases, junitCase{Classname: "compile", Name: ct.Target, Time: seconds(0)})
		}
		s.Tests = len(s.Cases)
		out = append(out, s)
	}
	return out
}

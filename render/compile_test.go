package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// compileReport is a run whose one cell built the test packages for
// linux/arm64 and windows/amd64: x does not build for windows.
func compileReport(t *testing.T) report.Report {
	t.Helper()
	m := policies.CompileMarker
	stdout := m + "target linux/arm64\n" +
		`{"Action":"start","Package":"example.com/m/x"}` + "\n" +
		`{"Action":"pass","Package":"example.com/m/x","Elapsed":0.003}` + "\n" +
		m + "exit linux/arm64 0\n" + m + "target windows/amd64\n" +
		`{"ImportPath":"example.com/m/x [example.com/m/x.test]","Action":"build-output","Output":"# example.com/m/x [example.com/m/x.test]\n"}` + "\n" +
		`{"ImportPath":"example.com/m/x [example.com/m/x.test]","Action":"build-output","Output":"x/x.go:2:41: undefined: sep\n"}` + "\n" +
		`{"ImportPath":"example.com/m/x [example.com/m/x.test]","Action":"build-fail"}` + "\n" +
		`{"Action":"start","Package":"example.com/m/x"}` + "\n" +
		`{"Action":"output","Package":"example.com/m/x","Output":"FAIL\texample.com/m/x [build failed]\n"}` + "\n" +
		`{"Action":"fail","Package":"example.com/m/x","Elapsed":0,"FailedBuild":"example.com/m/x [example.com/m/x.test]"}` + "\n" +
		m + "exit windows/amd64 1\n"
	res := job.Result{
		Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}, Status: job.StatusPassed,
		Decisions: []job.Decision{{Policy: policies.IDCompile, Effect: "linux/arm64,windows/amd64", Reason: "r"}},
		Steps:     []job.StepResult{{Name: job.StepCompile, ExitCode: 1, Stdout: stdout}, {Name: job.StepTest}},
		Run:       &testjson.Run{Tests: []testjson.Test{{Package: "example.com/m/x", Name: "TestJoin", Outcome: testjson.Pass}}},
	}
	return report.Build(report.Meta{Source: report.Source{Module: "example.com/m"}}, report.Runs{Cells: []job.Result{res}})
}

const wantCompileLine = "example.com/m/x does not build for windows/amd64: undefined: sep"

func TestCompileTargetsInEveryRenderer(t *testing.T) {
	r := compileReport(t)
	var term, md, junit, js bytes.Buffer
	if err := Terminal(&term, r, TerminalOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := JUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"terminal": term.String(), "markdown": md.String(), "junit": junit.String()} {
		if !strings.Contains(out, wantCompileLine) {
			t.Errorf("%s lacks %q:\n%s", name, wantCompileLine, out)
		}
		if !strings.Contains(out, "linux/arm64") {
			t.Errorf("%s does not list the target that built", name)
		}
	}
	if !strings.Contains(term.String(), "COMPILE TARGETS (2)") || !strings.Contains(term.String(), "FAIL windows/amd64: 1 of 1 package do not build") {
		t.Errorf("terminal:\n%s", term.String())
	}
	if !strings.Contains(md.String(), "### Compile targets (2)") {
		t.Errorf("markdown:\n%s", md.String())
	}
	if !strings.Contains(junit.String(), `<testsuite name="compile windows/amd64" tests="1" failures="1"`) {
		t.Errorf("junit:\n%s", junit.String())
	}
	for _, want := range []string{`"compile"`, `"target": "windows/amd64"`, `"error": "undefined: sep"`, `"package": "example.com/m/x"`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("json lacks %s", want)
		}
	}
	if r.Conclusion.OK || !strings.Contains(term.String(), "FAIL") {
		t.Error("the verdict must fail")
	}
}

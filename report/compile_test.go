package report

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/testjson"
)

// compileStdout is the compile step's output as go1.26.8 printed it for a
// module whose x package uses a constant only unix files define.
const compileStdout = policies.CompileMarker + `target linux/amd64
{"Action":"start","Package":"example.com/m/x"}
{"Action":"output","Package":"example.com/m/x","Output":"ok  \texample.com/m/x\t0.002s\n"}
{"Action":"pass","Package":"example.com/m/x","Elapsed":0.003}
` + policies.CompileMarker + `exit linux/amd64 0
` + policies.CompileMarker + `target windows/amd64
{"ImportPath":"example.com/m/x [example.com/m/x.test]","Action":"build-output","Output":"# example.com/m/x [example.com/m/x.test]\n"}
{"ImportPath":"example.com/m/x [example.com/m/x.test]","Action":"build-output","Output":"x/x.go:2:41: undefined: sep\n"}
{"ImportPath":"example.com/m/x [example.com/m/x.test]","Action":"build-fail"}
{"Action":"start","Package":"example.com/m/x"}
{"Action":"output","Package":"example.com/m/x","Output":"FAIL\texample.com/m/x [build failed]\n"}
{"Action":"fail","Package":"example.com/m/x","Elapsed":0,"FailedBuild":"example.com/m/x [example.com/m/x.test]"}
{"Action":"start","Package":"example.com/m/y"}
{"Action":"output","Package":"example.com/m/y","Output":"?   \texample.com/m/y\t[no test files]\n"}
{"Action":"skip","Package":"example.com/m/y","Elapsed":0}
` + policies.CompileMarker + `exit windows/amd64 1
` + policies.CompileMarker + `target plan9/amd64
go: unsupported GOOS/GOARCH pair plan9/amd64
` + policies.CompileMarker + `exit plan9/amd64 2
`

var compileCell = matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}

func compileResult(steps ...job.StepResult) job.Result {
	return job.Result{
		Cell: compileCell, Status: job.StatusPassed,
		Decisions: []job.Decision{{Policy: policies.IDCompile, Effect: "linux/amd64,windows/amd64,plan9/amd64"}},
		Steps:     steps,
		Run:       &testjson.Run{Packages: []testjson.Package{{ImportPath: "example.com/m/x", Outcome: testjson.Pass}}, Tests: []testjson.Test{{Package: "example.com/m/x", Name: "TestJoin", Outcome: testjson.Pass}}},
	}
}

func TestCompileTargets(t *testing.T) {
	r := Build(Meta{}, Runs{Cells: []job.Result{compileResult(
		job.StepResult{Name: job.StepCompile, ExitCode: 1, Stdout: compileStdout},
		job.StepResult{Name: job.StepTest},
	)}})

	if len(r.Compile) != 3 {
		t.Fatalf("compile = %+v", r.Compile)
	}
	linux, win, plan9 := r.Compile[0], r.Compile[1], r.Compile[2]
	if !linux.OK() || linux.Packages != 1 || linux.Cell != "go1.26.8/glibc/amd64" {
		t.Errorf("linux/amd64 = %+v", linux)
	}
	if win.OK() || !win.Built || win.Packages != 2 || len(win.Failures) != 1 {
		t.Fatalf("windows/amd64 = %+v", win)
	}
	if f := win.Failures[0]; f.Package != "example.com/m/x" || f.Error != "undefined: sep" || !strings.Contains(f.Output, "x/x.go:2:41: undefined: sep") {
		t.Errorf("failure = %+v", f)
	}
	if plan9.Built || !strings.Contains(plan9.Message, "go test exited 2: go: unsupported GOOS/GOARCH pair plan9/amd64") {
		t.Errorf("plan9 = %+v", plan9)
	}
	v := r.Conclusion
	if v.OK {
		t.Fatal("a package that does not build for a target must fail the verdict")
	}
	want := "example.com/m/x does not build for windows/amd64: undefined: sep"
	if !strings.Contains(strings.Join(v.Reasons, "\n"), want) {
		t.Errorf("reasons %q lack %q", v.Reasons, want)
	}
}

// TestCompileTargetsNotBuilt: a cell that stopped before its compile step
// lists its targets as not built, failing the verdict; a step cut short
// names the target it was building.
func TestCompileTargetsNotBuilt(t *testing.T) {
	res := compileResult()
	res.Status, res.Message = job.StatusDepsFailed, "go mod download/verify failed (exit 1)"
	r := Build(Meta{}, Runs{Cells: []job.Result{res}})
	if len(r.Compile) != 3 || r.Compile[1].Built || !strings.Contains(r.Compile[1].Message, "stopped before its compile step (deps-failed: go mod download") {
		t.Fatalf("compile = %+v", r.Compile)
	}
	cut := strings.SplitAfter(compileStdout, "undefined: sep\\n\"}\n")[0]
	r = Build(Meta{}, Runs{Cells: []job.Result{compileResult(job.StepResult{Name: job.StepCompile, ExitCode: 137, Stdout: cut, Stderr: "killed"}, job.StepResult{Name: job.StepTest})}})
	if !r.Compile[0].OK() || r.Compile[1].Built || !strings.Contains(r.Compile[1].Message, "ended before this target finished: killed") {
		t.Fatalf("cut short: %+v", r.Compile)
	}
	if r.Conclusion.OK {
		t.Fatal("targets not built must fail the verdict")
	}
}

func TestCompileTargetsAbsentWithoutDecision(t *testing.T) {
	res := compileResult(job.StepResult{Name: job.StepTest})
	res.Decisions = nil
	if r := Build(Meta{}, Runs{Cells: []job.Result{res}}); r.Compile != nil || !r.Conclusion.OK {
		t.Fatalf("no --compile: compile %+v, verdict %+v", r.Compile, r.Conclusion)
	}
}

func TestMergeKeepsCompileTargets(t *testing.T) {
	a := Build(Meta{}, Runs{Cells: []job.Result{compileResult(job.StepResult{Name: job.StepCompile, ExitCode: 1, Stdout: compileStdout}, job.StepResult{Name: job.StepTest})}})
	other := job.Result{Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}, Status: job.StatusPassed,
		Run: &testjson.Run{Tests: []testjson.Test{{Package: "example.com/m/x", Name: "TestJoin", Outcome: testjson.Pass}}}}
	b := Build(Meta{}, Runs{Cells: []job.Result{other}})
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Compile) != 3 || m.Conclusion.OK {
		t.Fatalf("merged compile %+v, verdict %+v", m.Compile, m.Conclusion)
	}
}

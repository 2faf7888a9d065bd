package policies

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

func TestCompileStepPlanned(t *testing.T) {
	targets := []matrix.Target{{GOOS: "windows", GOARCH: "amd64"}, {GOOS: "darwin", GOARCH: "arm64"}}
	s := plan(t, glibcAMD64, Options{Compile: targets, Tags: []string{"integration"}}, docker)
	var names []job.StepName
	for _, st := range s.Steps {
		names = append(names, st.Name)
	}
	if want := []job.StepName{job.StepSetup, job.StepProbe, job.StepDeps, job.StepBuild, job.StepCompile, job.StepTest}; !slices.Equal(names, want) {
		t.Fatalf("steps %v, want %v", names, want)
	}
	st := step(t, s, job.StepCompile)
	if st.Network || !slices.Contains(st.Env, "GOPROXY=off") {
		t.Errorf("the compile step must be offline: %+v", st)
	}
	if got := strings.Join(st.Args[4:], " "); got != "windows/amd64 darwin/arm64 -- -tags=integration ./..." {
		t.Errorf("args %q", got)
	}
	if d := decision(t, s, IDCompile); !strings.Contains(d.Reason, "windows/amd64, darwin/arm64") || !strings.Contains(d.Reason, "CGO_ENABLED=0") {
		t.Errorf("decision %+v", d)
	}
	for _, m := range s.Mounts {
		if m.Target == ModCacheDir && !m.ReadOnlyIn(job.StepCompile) {
			t.Error("the module cache must be read-only to the compile step")
		}
	}
	if slices.ContainsFunc(plan(t, glibcAMD64, Options{}, docker).Steps, func(st job.Step) bool { return st.Name == job.StepCompile }) {
		t.Error("no --compile, no compile step")
	}
}

// TestCompileScriptBuildsForTargets runs the step's script with this
// machine's go on a module whose package does not build for windows.
func TestCompileScriptBuildsForTargets(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":          "module example.com/m\n\ngo 1.22\n",
		"x/x.go":          "package x\n\nfunc Join(a, b string) string { return a + sep + b }\n",
		"x/sep_unix.go":   "//go:build unix\n\npackage x\n\nconst sep = \"/\"\n",
		"x/x_test.go":     "package x\n\nimport \"testing\"\n\nfunc TestJoin(t *testing.T) { panic(\"never runs\") }\n",
		"y/y.go":          "package y\n\nfunc Y() int { return 1 }\n",
		"y/ymain_test.go": "package y\n\nimport (\"os\"; \"testing\")\n\nfunc TestMain(m *testing.M) { os.Exit(3) }\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-c", CompileScript, "sh", "linux/amd64", "windows/amd64", "--", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "PATH="+filepath.Dir(goBin)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1 (windows fails):\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{
		CompileMarker + "target linux/amd64", CompileMarker + "exit linux/amd64 0",
		CompileMarker + "target windows/amd64", CompileMarker + "exit windows/amd64 1",
		`"Action":"build-fail"`, "undefined: sep",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "never runs") {
		t.Error("a test ran")
	}
}

package daggerengine

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
)

func TestSplitTime(t *testing.T) {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, in, rest string
		ok             bool
		dur            time.Duration
	}{
		{"marker alone", "\n@@parity-step-time start=1795773600 cs=91234 rc=0\n", "", true, 912340 * time.Millisecond},
		{"after output", "warning: x\n\n@@parity-step-time start=1795773600 cs=5 rc=0\n", "warning: x\n", true, 50 * time.Millisecond},
		// A test printing a marker of its own comes before the wrapper's.
		{"forged earlier", "\n@@parity-step-time start=1000 cs=1\nmore\n\n@@parity-step-time start=1795773600 cs=7 rc=0\n", "\n@@parity-step-time start=1000 cs=1\nmore\n", true, 70 * time.Millisecond},
		{"no marker", "killed\n", "killed\n", false, 0},
		{"malformed", "\n@@parity-step-time start=x cs=1\n", "\n@@parity-step-time start=x cs=1\n", false, 0},
		{"missing field", "\n@@parity-step-time start=1795773600\n", "\n@@parity-step-time start=1795773600\n", false, 0},
		{"no exit status", "\n@@parity-step-time start=1795773600 cs=1\n", "\n@@parity-step-time start=1795773600 cs=1\n", false, 0},
	} {
		rest, st, ok := splitTime(c.in)
		if rest != c.rest || ok != c.ok || st.duration != c.dur {
			t.Errorf("%s: got %q %v %v, want %q %v %v", c.name, rest, ok, st.duration, c.rest, c.ok, c.dur)
		}
		if ok && !st.start.Equal(start) {
			t.Errorf("%s: start %v", c.name, st.start)
		}
	}
}

// TestTimedMarksCached: a step whose recorded start predates this run was
// served from cache and keeps its recorded duration; one started now was not.
func TestTimedMarksCached(t *testing.T) {
	runStart := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	old := job.StepResult{Stderr: "x\n\n@@parity-step-time start=1795770000 cs=60000 rc=0\n", Duration: 400 * time.Millisecond}
	timed(&old, runStart)
	if !old.Cached || old.Duration != 10*time.Minute || old.Stderr != "x\n" || !old.Started.Equal(time.Unix(1795770000, 0)) {
		t.Fatalf("replayed step: %+v", old)
	}
	// Started in the second the run began (the marker has whole seconds).
	fresh := job.StepResult{Stderr: "\n@@parity-step-time start=1795773600 cs=250 rc=0\n", Duration: 3 * time.Second}
	timed(&fresh, runStart.Add(900*time.Millisecond))
	if fresh.Cached || fresh.Duration != 2500*time.Millisecond {
		t.Fatalf("fresh step: %+v", fresh)
	}
	killed := job.StepResult{Stderr: "Killed\n", Duration: 3 * time.Second}
	timed(&killed, runStart)
	if killed.Cached || killed.Duration != 3*time.Second {
		t.Fatalf("step without marker: %+v", killed)
	}
}

// TestTimeWrapperRuns runs the wrapper in this machine's sh: the command's
// output and exit status pass through, and the marker parses.
func TestTimeWrapperRuns(t *testing.T) {
	before := time.Now().Add(-time.Second)
	args := wrapTimed([]string{"sh", "-c", "echo out; echo err >&2; sleep 0.3; exit 3"}, 0, "")
	cmd := exec.Command(args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v", err)
	}
	if stdout.String() != "out\n" {
		t.Fatalf("stdout %q", stdout.String())
	}
	rest, st, ok := splitTime(stderr.String())
	if !ok || strings.TrimSpace(rest) != "err" {
		t.Fatalf("stderr %q", stderr.String())
	}
	if st.start.Before(before.Truncate(time.Second)) || st.start.After(time.Now()) || st.duration < 200*time.Millisecond {
		t.Fatalf("recorded %+v", st)
	}
}

// TestWrapperExitDecidesCaching: the engine caches an exec that exits 0
// and never one that fails, so the wrapper exits 0 only for a result of
// the source (go test's 1 in the test step) and keeps every other status:
// a killed step (137) or a failed download is run again next time.
func TestWrapperExitDecidesCaching(t *testing.T) {
	for _, c := range []struct {
		name     string
		script   string
		keep     int
		wrapper  int // the status the engine sees
		recorded int // the status the step reports
	}{
		{"tests failed: a result", "exit 1", keepStatus(job.StepTest), 0, 1},
		{"tests passed", "exit 0", keepStatus(job.StepTest), 0, 0},
		{"test step killed", "kill -9 $$", keepStatus(job.StepTest), 137, 137},
		{"go test usage error", "exit 2", keepStatus(job.StepTest), 2, 2},
		{"download failed", "exit 1", keepStatus(job.StepDeps), 1, 1},
		{"setup failed", "exit 1", keepStatus(job.StepSetup), 1, 1},
	} {
		args := wrapTimed([]string{"sh", "-c", c.script}, c.keep, "")
		cmd := exec.Command(args[0], args[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.wrapper {
			t.Errorf("%s: wrapper exits %d, want %d", c.name, got, c.wrapper)
		}
		r := job.StepResult{ExitCode: got, Stderr: stderr.String()}
		timed(&r, time.Now().Add(-time.Minute))
		if r.ExitCode != c.recorded {
			t.Errorf("%s: step exit %d, want %d", c.name, r.ExitCode, c.recorded)
		}
	}
}

// TestWrapperSendsStdoutToAFile: with a file, the command's stdout goes
// there and not to the wrapper's stdout (the engine's capture and log).
func TestWrapperSendsStdoutToAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stdout")
	args := wrapTimed([]string{"sh", "-c", "echo events; echo err >&2; exit 1"}, 1, file)
	cmd := exec.Command(args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wrapper: %v", err)
	}
	got, err := os.ReadFile(file)
	if err != nil || string(got) != "events\n" || stdout.Len() != 0 {
		t.Fatalf("file %q (%v), wrapper stdout %q", got, err, stdout.String())
	}
	r := job.StepResult{Stderr: stderr.String()}
	timed(&r, time.Now())
	if r.ExitCode != 1 || strings.TrimSpace(r.Stderr) != "err" {
		t.Fatalf("step %+v", r)
	}
}

// TestIncompleteTestStepIsNotCached runs the test step's wrapper around
// real `go test -json` runs of this machine's go: a run whose tests failed
// is a result the engine may cache (the wrapper exits 0, the step records
// 1); a run whose test binary was killed (SIGKILL, as the OOM killer
// sends it) or stopped at its -timeout also exits 1 from go test, but the
// wrapper then fails the exec, so the engine never replays it, and prints
// the end of the stream for Parity (the engine keeps no file of a failed
// exec). A test that merely prints the words of a kill and passes is a
// result.
func TestIncompleteTestStepIsNotCached(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.22\n",
		"m_test.go": `package m

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestMode(t *testing.T) {
	switch os.Getenv("MODE") {
	case "fail":
		t.Fatal("a real failure")
	case "killed":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "timeout":
		time.Sleep(time.Minute)
	case "says-killed":
		fmt.Println("signal: killed")
	}
}
`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		mode     string
		wrapper  int  // the status the engine sees: 0 is cached
		recorded int  // the step's status, as Parity reports it
		tail     bool // the wrapper printed the stream's end
	}{
		{"pass", 0, 0, false},
		{"fail", 0, 1, false},
		{"says-killed", 0, 0, false},
		{"killed", 1, 1, true},
		{"timeout", 1, 1, true},
	} {
		out := filepath.Join(t.TempDir(), "stdout")
		args := wrapTimed([]string{goBin, "test", "-json", "-count=1", "-timeout=2s", "."}, keepStatus(job.StepTest), out)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "MODE="+c.mode, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", c.mode, err)
		}
		if got != c.wrapper {
			t.Errorf("%s: the wrapper exits %d, want %d (0: the engine caches it)\n%s", c.mode, got, c.wrapper, stderr.String())
		}
		r := job.StepResult{ExitCode: got, Stdout: stdout.String(), Stderr: stderr.String()}
		timed(&r, time.Now().Add(-time.Minute))
		if r.ExitCode != c.recorded {
			t.Errorf("%s: step exit %d, want %d", c.mode, r.ExitCode, c.recorded)
		}
		if printed := strings.Contains(r.Stdout, `"Action":"fail"`); printed != c.tail {
			t.Errorf("%s: the stream's end on the wrapper's stdout: %v, want %v:\n%s", c.mode, printed, c.tail, r.Stdout)
		}
	}
}

// TestIncompleteWithoutGrepIsNotCached: where grep cannot run, a go test
// exit of 1 is not taken for a result.
func TestIncompleteWithoutGrepIsNotCached(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out := filepath.Join(t.TempDir(), "stdout")
	args := wrapTimed([]string{"sh", "-c", `echo '{"Action":"fail"}'; exit 1`}, keepStatus(job.StepTest), out)
	bin := t.TempDir()
	// Only what the wrapper needs besides grep.
	for _, tool := range []string{"sh", "date", "tr", "wc", "cat", "tail", "sed"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s", tool)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(sh, args[1:]...)
	cmd.Env = []string{"PATH=" + bin}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("without grep: %v, want exit 1 (not cached)", err)
	}
	if !strings.Contains(stdout.String(), `"Action":"fail"`) {
		t.Fatalf("stream's end %q", stdout.String())
	}
}

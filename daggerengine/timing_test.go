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

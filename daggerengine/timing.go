package daggerengine

import (
	"strconv"
	"strings"
	"time"

	"github.com/parity-ci/parity/job"
)

// timeMarker ends a step's stderr with when the step started (Unix
// seconds), how long its command ran (centiseconds) and its exit status.
// The engine caches a step's output with the marker in it, so a result
// served from cache still tells its original start and duration: a repeat
// that took half a second does not overwrite the 15 minutes the tests
// really took.
const timeMarker = "@@parity-step-time"

// timeWrapper runs the step's argv and then prints the marker. The clock
// is /proc/uptime, which every image has (busybox date has no
// sub-second format).
//
// Its exit status decides what the engine caches: the engine caches an
// exec that succeeds and never one that fails (Expect: success). So the
// wrapper exits 0 only for results worth replaying — the command's 0, and
// for the test step go test's 1 when go test completed (tests failed: a
// result of the source) — and otherwise with the command's own status: a
// failed module download, a setup that could not install, a test step
// killed or out of memory is an error the next identical call runs again,
// never a replayed result.
//
// go test also exits 1 when it did not complete: a test binary killed
// (SIGKILL: the OOM killer, kill -9: "signal: killed"), stopped at its
// -timeout ("panic: test timed out after"), or killed by the go command
// ("*** Test killed"). The test stream says so (see IncompleteMarkers):
// then the wrapper exits 1, and, since the engine keeps no file of a
// failed exec, prints the end of the stream (the engine keeps 100 KiB of
// it) for Parity to read. A grep that cannot run counts as incomplete.
const timeWrapper = `t0=$(date +%s); read u0 _ </proc/uptime
"$@" >$PARITY_STDOUT; rc=$?
read u1 _ </proc/uptime
cs() { v=$(echo "$1" | tr -d .); v=${v#"${v%%[!0]*}"}; echo "${v:-0}"; }
printf '\n%s start=%s cs=%s rc=%s\n' '` + timeMarker + `' "$t0" "$(( $(cs "$u1") - $(cs "$u0") ))" "$rc" >&2
[ "$rc" -gt "$PARITY_KEEP_RC" ] && exit $rc
[ "$rc" -eq 0 ] && exit 0
$PARITY_INCOMPLETE
exit $rc`

// IncompleteMarkers are what go test's stream holds when a test binary
// did not run to its end (checked with real go test runs in
// TestIncompleteTestStepIsNotCached): its -timeout alarm, the go
// command's kill, and death by SIGKILL (what the OOM killer sends).
var IncompleteMarkers = []string{"panic: test timed out after", "*** Test killed", "signal: killed"}

// incompleteCheck ends the wrapper of a step whose stdout is the file out:
// exit 0 (a result) unless the stream says the run did not complete.
func incompleteCheck(out string) string {
	var pats []string
	for _, m := range IncompleteMarkers {
		pats = append(pats, "-e '"+m+"'") // constants of ours, no quote in them
	}
	return `grep -q -F ` + strings.Join(pats, " ") + ` ` + out + ` 2>/dev/null
[ $? -eq 1 ] && exit 0
n=$(wc -c <` + out + `)
if [ "$n" -gt 102400 ]; then tail -c 102400 ` + out + ` | sed 1d; else cat ` + out + `; fi`
}

// wrapTimed is the argv that runs args under timeWrapper; keep is the
// highest exit status that is a result to cache (0, or 1 for go test);
// stdout, when not "", is a file the command's stdout goes to instead of
// the engine (which would hold it whole and log it to the CLI: the exec's
// RedirectStdout does not stop that, measured on v0.21.8). A step whose
// stdout is a file and whose 1 is kept is the test step: its 1 counts
// only when the stream says go test completed.
func wrapTimed(args []string, keep int, stdout string) []string {
	target := "/dev/stdout"
	check := "exit 0"
	if stdout != "" {
		target = "'" + stdout + "'" // a constant path of ours, no quote in it
		if keep > 0 {
			check = incompleteCheck(target)
		}
	}
	w := strings.Replace(timeWrapper, "$PARITY_KEEP_RC", strconv.Itoa(keep), 1)
	w = strings.Replace(w, "$PARITY_STDOUT", target, 1)
	w = strings.Replace(w, "$PARITY_INCOMPLETE", check, 1)
	return append([]string{"sh", "-c", w, "sh"}, args...)
}

// keepStatus is the highest exit status of a step that is a result of the
// source rather than a failure to run it: go test's 1 means tests failed.
func keepStatus(st job.StepName) int {
	if st == job.StepTest {
		return 1
	}
	return 0
}

// stepTime is what the marker recorded.
type stepTime struct {
	start    time.Time
	duration time.Duration
	rc       int // the command's exit status
}

// splitTime removes the LAST marker from stderr and returns what it says.
// The last one is the wrapper's: it prints after the command has ended, so
// a test that prints a marker of its own prints it earlier. ok is false
// when there is no well-formed marker (the step was killed before it).
func splitTime(stderr string) (string, stepTime, bool) {
	i := strings.LastIndex(stderr, "\n"+timeMarker+" ")
	if i < 0 {
		return stderr, stepTime{}, false
	}
	fields := strings.Fields(stderr[i+len(timeMarker)+2:])
	var start, cs, rc int64 = -1, -1, -1
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "start":
			start = n
		case "cs":
			cs = n
		case "rc":
			rc = n
		}
	}
	if len(fields) != 3 || start <= 0 || cs < 0 || rc < 0 {
		return stderr, stepTime{}, false
	}
	return stderr[:i], stepTime{start: time.Unix(start, 0).UTC(), duration: time.Duration(cs) * 10 * time.Millisecond, rc: int(rc)}, true
}

// clockSlack allows for the marker's whole-second start and a small skew
// between the engine's clock and the caller's.
const clockSlack = 2 * time.Second

// servedFromCache reports whether a step that recorded st was run before
// this run began: the engine replayed an earlier run's result.
func servedFromCache(st stepTime, runStart time.Time) bool {
	return st.start.Before(runStart.Add(-clockSlack))
}

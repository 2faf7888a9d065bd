//go:build cgo

package intermittent

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestFailsOftenOnMusl, in a musl cell, fails its first run (the one
// without PARITY_RERUN, which Parity sets in every re-run) and three
// re-runs in four of each kind: all but the 2nd, 6th, 10th…; never on
// glibc. The pattern is fixed rather than random so that a test expecting
// an intermittent divergence cannot draw a streak of failures and see a
// steady one (a 70% draw failed 8 in a row about 6% of the time, and CI
// went red). How often a random failure is misnamed is the calibration
// suite's job.
func TestFailsOftenOnMusl(t *testing.T) {
	if onGlibc() {
		return
	}
	if rerunIndex(os.Getenv("PARITY_RERUN"))%4 != 2 {
		t.Fatal("planted intermittent failure: fails three runs in four on musl")
	}
}

// rerunIndex is the run's index in PARITY_RERUN (nonce/kind/index[/trial]),
// 0 for the first run.
func rerunIndex(v string) int {
	parts := strings.Split(v, "/")
	if len(parts) < 3 {
		return 0
	}
	i, _ := strconv.Atoi(parts[2])
	return i
}

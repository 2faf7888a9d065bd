// Package flaky has a test that fails on its first run in a process and
// passes on the next: with -count=2 the two runs disagree.
package flaky

import "testing"

var runs int

func TestFlaky(t *testing.T) {
	runs++
	if runs == 1 {
		t.Fatalf("first run fails (run %d)", runs)
	}
}

func TestSteady(t *testing.T) {}

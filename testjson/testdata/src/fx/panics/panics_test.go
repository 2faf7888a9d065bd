// Package panics has a test that panics; the one after it never runs.
package panics

import "testing"

func TestBeforePanic(t *testing.T) {}

func TestPanics(t *testing.T) {
	var m map[string]int
	m["boom"] = 1 // panic: assignment to entry in nil map
}

func TestAfterPanic(t *testing.T) {}

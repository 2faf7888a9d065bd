package cgostack

import "testing"

func TestDeepCStack(t *testing.T) {
	if got := Deep(); got != 1 {
		t.Fatalf("Deep() = %d, want 1", got)
	}
}

func TestAfterCrash(t *testing.T) {}

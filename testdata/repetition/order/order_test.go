// Package order plants an order-dependent test: shared package state that
// one test leaves behind and the next one fails on.
package order

import "testing"

var dirty bool

func TestLeavesStateBehind(t *testing.T) { dirty = true }

func TestNeedsCleanState(t *testing.T) {
	if dirty {
		t.Fatal("planted order dependence: TestLeavesStateBehind ran before and left its state")
	}
}

// Package order plants an order-dependent test: shared package state that
// one test leaves behind and a later one fails on. The other tests are
// innocent siblings, so a bisection has more than one suspect to clear.
package order

import "testing"

var dirty bool

func TestAlpha(t *testing.T) {}

func TestBravo(t *testing.T) {}

func TestLeavesStateBehind(t *testing.T) { dirty = true }

func TestCharlie(t *testing.T) {}

func TestNeedsCleanState(t *testing.T) {
	if dirty {
		t.Fatal("planted order dependence: TestLeavesStateBehind ran before and left its state")
	}
}

func TestZulu(t *testing.T) {}

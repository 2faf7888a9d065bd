// Package victim has one passing and one failing test: the forger tries to
// swap their results from another package.
package victim

import "testing"

func TestGood(t *testing.T) {}

func TestReal(t *testing.T) {
	t.Fatal("planted failure: fails in every cell")
}

//go:build cgo

package intermittent

import (
	"math/rand/v2"
	"os"
	"testing"
)

// TestFailsOftenOnMusl, in a musl cell, fails its first run (the one
// without PARITY_RERUN, which Parity sets in every re-run), then about 70%
// of its re-runs; never on glibc.
func TestFailsOftenOnMusl(t *testing.T) {
	if onGlibc() {
		return
	}
	if os.Getenv("PARITY_RERUN") == "" || rand.Float64() < 0.7 {
		t.Fatal("planted intermittent failure: fails about 70% of its runs on musl")
	}
}

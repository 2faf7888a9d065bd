//go:build cgo

package intermittent

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestFailsOftenOnMusl, in a musl cell, fails its first two runs, passes
// the third (its runs are counted in a file in the cell's GOCACHE volume,
// which steps share), then fails about 70% of the others; never on glibc.
// As measured (issue 14, case 2): crashed in the first run and the first
// re-run, passed the second.
func TestFailsOftenOnMusl(t *testing.T) {
	if onGlibc() {
		return
	}
	counter := filepath.Join(os.Getenv("GOCACHE"), "parity-repetition-intermittent-runs")
	runs, _ := os.ReadFile(counter)
	if err := os.WriteFile(counter, append(runs, '.'), 0o644); err != nil {
		t.Fatalf("counting runs: %v", err)
	}
	if n := len(runs); n < 2 || n > 2 && rand.Float64() < 0.7 {
		t.Fatal("planted intermittent failure: fails about 70% of its runs on musl")
	}
}

// Package flakyalike plants tests that fail at random, at the same rate in
// every cell: flaky, and nothing else. Each draw is a hash of a fixed
// seed, the test, the run (PARITY_RERUN without the call's nonce, which
// Parity sets in every re-run; "first" in the first run) and the cell (its
// C library and arch), so that every cell draws independently and the
// integration test gives the same answer on every machine. How often such
// a test is misnamed is the calibration suite's to measure
// (docs/verdicts.md); this is the same decision on real containers.
package flakyalike

import (
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"strings"
	"testing"
)

// seed picks the draws. With this one, each of the four flaky tests fails
// its first run in exactly one of the two amd64 cells (glibc, musl): what a
// platform divergence would look like, on one run.
const seed = "parity-flakyalike-20"

func draw(t *testing.T) float64 {
	run := "first"
	if v := os.Getenv("PARITY_RERUN"); v != "" {
		_, run, _ = strings.Cut(v, "/") // drop the call's nonce
	}
	libc := "glibc"
	if _, err := os.Stat("/lib/ld-musl-" + map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH] + ".so.1"); err == nil {
		libc = "musl"
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s/%s", seed, t.Name(), run, libc, runtime.GOARCH)
	x := h.Sum64()
	x ^= x >> 31
	x *= 0x9e3779b97f4a7c15
	x ^= x >> 29
	return float64(x>>11) / (1 << 53)
}

func flaky(t *testing.T, q float64) {
	if d := draw(t); d < q {
		t.Fatalf("lost the draw: %.3f < %.2f (fails at this rate in every cell)", d, q)
	}
}

func TestFlaky20A(t *testing.T) { flaky(t, 0.2) }
func TestFlaky20B(t *testing.T) { flaky(t, 0.2) }
func TestFlaky50A(t *testing.T) { flaky(t, 0.5) }
func TestFlaky50B(t *testing.T) { flaky(t, 0.5) }
func TestSteady(t *testing.T)   {}

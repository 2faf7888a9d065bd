//go:build cgo

package skipped

import "testing"

func TestNeedsGlibc(t *testing.T) {
	if !onGlibc() {
		t.Skip("needs glibc: skipped on musl")
	}
}

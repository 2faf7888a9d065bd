package daggerengine

import (
	"testing"

	"github.com/parity-ci/parity/matrix"
)

// TestPlatformMappingEveryArch: every arch's cell asks Dagger for its OCI
// platform as the Spec names it (Container(Platform) takes it verbatim,
// arm with its v7 variant), and an engine reporting that platform as its
// default is read back as the same arch, so native and emulated cells are
// told apart for each of them.
func TestPlatformMappingEveryArch(t *testing.T) {
	for _, a := range matrix.AllArches {
		p := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: a}.Platform()
		got, err := matrix.ParseArch(archOf(p))
		if err != nil || got != a {
			t.Errorf("%s: platform %q reads back as %q, %v", a, p, got, err)
		}
	}
	if p := (matrix.Cell{Arch: matrix.ARM}).Platform(); p != "linux/arm/v7" {
		t.Errorf("arm cells must ask for linux/arm/v7, got %q", p)
	}
}

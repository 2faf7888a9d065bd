package policies

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/matrix"
)

// TestNewArchesRaceAndEmulation: on an amd64 host 386 runs natively but has
// no race detector; s390x, ppc64le and riscv64 have one but run under
// qemu-user, which ThreadSanitizer refuses; arm has neither.
func TestNewArchesRaceAndEmulation(t *testing.T) {
	for _, tc := range []struct {
		arch       matrix.Arch
		host       matrix.Arch
		emulation  string // effect, "" for no decision
		race       bool
		raceReason string
		platform   string
	}{
		{matrix.I386, matrix.AMD64, "native", false, "does not support linux/386", "linux/386"},
		{matrix.ARM, matrix.AMD64, "qemu", false, "does not support linux/arm", "linux/arm/v7"},
		{matrix.S390X, matrix.AMD64, "qemu", false, "unsupported VMA range", "linux/s390x"},
		{matrix.PPC64LE, matrix.AMD64, "qemu", false, "unsupported VMA range", "linux/ppc64le"},
		{matrix.RISCV64, matrix.AMD64, "qemu", false, "unsupported VMA range", "linux/riscv64"},
		{matrix.S390X, matrix.S390X, "", true, "works on native s390x", "linux/s390x"},
		{matrix.I386, matrix.ARM64, "qemu", false, "does not support linux/386", "linux/386"},
		{matrix.ARM, matrix.ARM64, "qemu", false, "does not support linux/arm", "linux/arm/v7"},
	} {
		t.Run(string(tc.arch)+"-on-"+string(tc.host), func(t *testing.T) {
			cell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: tc.arch}
			rt := docker
			rt.NativeArch = tc.host
			s := plan(t, cell, Options{}, rt)
			if s.Platform != tc.platform {
				t.Errorf("platform %q, want %q", s.Platform, tc.platform)
			}
			if s.Race != tc.race {
				t.Errorf("race = %v, want %v", s.Race, tc.race)
			}
			if d := decision(t, s, IDRace); !strings.Contains(d.Reason, tc.raceReason) {
				t.Errorf("race reason %q lacks %q", d.Reason, tc.raceReason)
			}
			var effect, reason string
			for _, d := range s.Decisions {
				if d.Policy == IDEmulation {
					effect, reason = d.Effect, d.Reason
				}
			}
			if effect != tc.emulation {
				t.Fatalf("emulation effect %q, want %q (%s)", effect, tc.emulation, reason)
			}
			switch effect {
			case "qemu":
				if !strings.Contains(reason, "slower (") || !strings.Contains(reason, "ENOSYS") {
					t.Errorf("an emulated cell must say its cost and the ENOSYS risk: %q", reason)
				}
			case "native":
				if !strings.Contains(reason, "32-bit userland") {
					t.Errorf("native reason %q", reason)
				}
			}
		})
	}
	// arm64's and s390x's costs are the measured ones.
	for _, a := range []matrix.Arch{matrix.ARM64, matrix.S390X} {
		c := matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: a}
		if d := decision(t, plan(t, c, Options{}, docker), IDEmulation); EmulationCost[a] == "" || !strings.Contains(d.Reason, EmulationCost[a]) {
			t.Errorf("%s emulation reason %q lacks its measured cost", a, d.Reason)
		}
	}
}

// TestForcedRaceOnUnsupportedArch: --race=on is honoured but says why it
// will fail.
func TestForcedRaceOnUnsupportedArch(t *testing.T) {
	s := plan(t, matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.I386}, Options{Race: On}, docker)
	if d := decision(t, s, IDRace); !s.Race || !strings.Contains(d.Reason, "expected to fail here: the Go race detector does not support linux/386") {
		t.Errorf("race %v: %q", s.Race, d.Reason)
	}
}

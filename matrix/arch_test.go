package matrix

import (
	"slices"
	"strings"
	"testing"
)

func TestParseArchNewArches(t *testing.T) {
	for in, want := range map[string]Arch{
		"386": I386, "i686": I386, "arm": ARM, "armv7": ARM, "armhf": ARM,
		"s390x": S390X, "ppc64le": PPC64LE, "ppc64el": PPC64LE, "riscv64": RISCV64, "AArch64": ARM64,
	} {
		if got, err := ParseArch(in); err != nil || got != want {
			t.Errorf("ParseArch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestArchFacts(t *testing.T) {
	for _, tc := range []struct {
		a        Arch
		bits     int
		big      bool
		race     bool
		platform string
	}{
		{AMD64, 64, false, true, "linux/amd64"},
		{ARM64, 64, false, true, "linux/arm64"},
		{I386, 32, false, false, "linux/386"},
		{ARM, 32, false, false, "linux/arm/v7"},
		{S390X, 64, true, true, "linux/s390x"},
		{PPC64LE, 64, false, true, "linux/ppc64le"},
		{RISCV64, 64, false, true, "linux/riscv64"},
	} {
		if tc.a.Bits() != tc.bits || tc.a.BigEndian() != tc.big || tc.a.RaceSupported() != tc.race || tc.a.Platform() != tc.platform {
			t.Errorf("%s: bits %d big %v race %v platform %q; want %d %v %v %q", tc.a, tc.a.Bits(), tc.a.BigEndian(), tc.a.RaceSupported(), tc.a.Platform(), tc.bits, tc.big, tc.race, tc.platform)
		}
		if len(tc.a.Unames()) == 0 {
			t.Errorf("%s: no uname -m values", tc.a)
		}
		if !slices.Contains(AllArches, tc.a) {
			t.Errorf("%s missing from AllArches", tc.a)
		}
	}
	if len(AllArches) != 7 {
		t.Errorf("AllArches = %v: a new arch needs its facts here", AllArches)
	}
	if S390X.ByteOrder() != "big-endian" || AMD64.ByteOrder() != "little-endian" {
		t.Error("ByteOrder")
	}
	if (Cell{Go: "1.26.8", Libc: Glibc, Arch: ARM}).Platform() != "linux/arm/v7" {
		t.Error("the arm cell must ask for the v7 variant")
	}
}

func TestRunsNativelyOn(t *testing.T) {
	for _, tc := range []struct {
		a, host Arch
		want    bool
	}{
		{AMD64, AMD64, true}, {I386, AMD64, true}, {ARM64, AMD64, false}, {S390X, AMD64, false},
		{ARM64, ARM64, true}, {ARM, ARM64, false}, {I386, ARM64, false}, {AMD64, ARM64, false},
	} {
		if got := tc.a.RunsNativelyOn(tc.host); got != tc.want {
			t.Errorf("%s on %s host: native = %v, want %v", tc.a, tc.host, got, tc.want)
		}
	}
}

func TestDefaultAxisUnchangedAndNewArchesSorted(t *testing.T) {
	cells, err := Expand(Spec{}, []string{"1.26.8"})
	if err != nil || len(cells) != 4 {
		t.Fatalf("default matrix = %v, %v; want glibc,musl x amd64,arm64", cells, err)
	}
	for _, c := range cells {
		if c.Arch != AMD64 && c.Arch != ARM64 {
			t.Errorf("default matrix has %s", c)
		}
	}
	cells, err = Expand(Spec{Libc: []Libc{Glibc}, Arch: []Arch{RISCV64, I386, S390X, AMD64}}, []string{"1.26.8"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cells {
		got = append(got, string(c.Arch))
	}
	if strings.Join(got, ",") != "amd64,386,s390x,riscv64" {
		t.Errorf("order = %v", got)
	}
	c, err := ParseCell("go1.26.8-musl-386")
	if err != nil || c != (Cell{"1.26.8", Musl, I386}) {
		t.Errorf("ParseCell key of a 386 cell = %v, %v", c, err)
	}
}

func TestUnavailablePlatforms(t *testing.T) {
	pins := Pins{
		{Go: "1.26.8", Libc: Musl, Image: "golang:1.26.8-alpine3.24@sha256:" + strings.Repeat("a", 64)},
		{Go: "1.26.8", Libc: Glibc, Image: "127.0.0.1:5000/golang:1.26.8@sha256:" + strings.Repeat("b", 64)},
	}
	table := map[Libc][]Arch{Musl: {AMD64, ARM64}, Glibc: {AMD64}}
	cells := []Cell{{"1.26.8", Musl, AMD64}, {"1.26.8", Musl, RISCV64}, {"1.26.8", Glibc, RISCV64}}
	err := pins.unavailable(cells, table)
	if err == nil {
		t.Fatal("a cell the official index lacks must be refused")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "go1.26.8/musl/riscv64: golang:1.26.8-alpine3.24@sha256:") ||
		!strings.Contains(msg, "publishes no linux/riscv64") || !strings.Contains(msg, "--exclude '*/musl/riscv64'") {
		t.Errorf("message = %q", msg)
	}
	if strings.Contains(msg, "glibc") {
		t.Errorf("an unofficial repository's index is not known in advance, so not refused: %q", msg)
	}
	if err := pins.unavailable(cells[:1], table); err != nil {
		t.Errorf("offered platform refused: %v", err)
	}
	if err := Builtin().Unavailable([]Cell{{"1.26.8", Glibc, S390X}, {"1.27.1", Musl, I386}, {"1.27.1", Glibc, ARM}}); err != nil {
		t.Errorf("built-in pins: %v", err)
	}
}

// TestBookwormLacksRiscv64: the official golang *-bookworm images publish
// no riscv64 (trixie's do); every other arch of the axis is in both.
func TestBookwormLacksRiscv64(t *testing.T) {
	bookworm := Pin{Go: "1.26.8", Libc: Glibc, Image: "golang:1.26.8-bookworm@sha256:" + strings.Repeat("c", 64)}
	trixie := Pin{Go: "1.26.8", Libc: Glibc, Image: "golang:1.26.8-trixie@sha256:" + strings.Repeat("d", 64)}
	for _, a := range AllArches {
		ok, known := bookworm.Offers(a)
		if !known || ok != (a != RISCV64) {
			t.Errorf("bookworm offers %s: %v (known %v)", a, ok, known)
		}
		if ok, known := trixie.Offers(a); !ok || !known {
			t.Errorf("trixie offers %s: %v (known %v)", a, ok, known)
		}
	}
}

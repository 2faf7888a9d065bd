// Package matrix turns the user's choice of Go versions, C libraries and
// architectures into the list of cells Parity runs, and holds the image pins
// those cells run on. It is pure: no I/O beyond parsing bytes it is given.
package matrix

import (
	"fmt"
	"slices"
	"strings"
)

// Libc is the C library a cell's image is built on.
type Libc string

// Arch is a Linux architecture as GOARCH names it.
type Arch string

const (
	Musl  Libc = "musl"  // Alpine images
	Glibc Libc = "glibc" // Debian images

	AMD64   Arch = "amd64"
	ARM64   Arch = "arm64"
	I386    Arch = "386"
	ARM     Arch = "arm" // ARMv7 (linux/arm/v7), hard float
	S390X   Arch = "s390x"
	PPC64LE Arch = "ppc64le"
	RISCV64 Arch = "riscv64"
)

// Libcs is every C library Parity knows, in display order. Arches is the
// default arch axis (what `--arch` means when not given, and what every
// pinned index must offer); AllArches is every arch Parity knows, in
// display order: the others are asked for with --arch or --include.
var (
	Libcs     = []Libc{Glibc, Musl}
	Arches    = []Arch{AMD64, ARM64}
	AllArches = []Arch{AMD64, ARM64, I386, ARM, S390X, PPC64LE, RISCV64}
)

// archFacts are what the policies and the divergence analysis need to know
// of each arch: word size, byte order, and whether the Go race detector
// supports it on Linux (GOROOT/src/internal/platform/supported.go,
// RaceDetectorSupported; loong64 is supported too but not on the axis).
var archFacts = map[Arch]struct {
	bits      int
	bigEndian bool
	race      bool
	platform  string
	unames    []string // what uname -m prints in a container of this arch
}{
	AMD64: {bits: 64, race: true, platform: "linux/amd64", unames: []string{"x86_64"}},
	ARM64: {bits: 64, race: true, platform: "linux/arm64", unames: []string{"aarch64", "arm64"}},
	// A 32-bit x86 userland on a 64-bit kernel: uname reports the kernel's x86_64.
	I386: {bits: 32, platform: "linux/386", unames: []string{"i386", "i686", "x86_64"}},
	// armv7l under qemu-user or an ARMv7 kernel; armv8l or aarch64 when an
	// arm64 kernel runs the 32-bit userland itself.
	ARM:     {bits: 32, platform: "linux/arm/v7", unames: []string{"armv7l", "armv8l", "aarch64"}},
	S390X:   {bits: 64, bigEndian: true, race: true, platform: "linux/s390x", unames: []string{"s390x"}},
	PPC64LE: {bits: 64, race: true, platform: "linux/ppc64le", unames: []string{"ppc64le"}},
	RISCV64: {bits: 64, race: true, platform: "linux/riscv64", unames: []string{"riscv64"}},
}

// Bits is the arch's word size: the size of int, uint and pointers.
func (a Arch) Bits() int { return archFacts[a].bits }

// BigEndian reports whether the arch stores the most significant byte first.
func (a Arch) BigEndian() bool { return archFacts[a].bigEndian }

// ByteOrder is "big-endian" or "little-endian".
func (a Arch) ByteOrder() string {
	if a.BigEndian() {
		return "big-endian"
	}
	return "little-endian"
}

// RaceSupported reports whether the Go race detector supports linux/a at all
// (whether it can run in a given cell is the race policy's question).
func (a Arch) RaceSupported() bool { return archFacts[a].race }

// Platform is the OCI platform of a Linux image of this arch, with the
// variant where Parity asks for one ("linux/arm/v7").
func (a Arch) Platform() string { return archFacts[a].platform }

// Unames lists what `uname -m` may print in a container of this arch.
func (a Arch) Unames() []string { return archFacts[a].unames }

// RunsNativelyOn reports whether a host of arch host runs a's binaries
// without emulation: its own arch, and 386 on amd64 (the kernel runs
// 32-bit x86 programs itself). 32-bit arm on an arm64 host is counted as
// emulated: many arm64 CPUs (Apple's, recent Neoverse) have no AArch32.
func (a Arch) RunsNativelyOn(host Arch) bool {
	return a == host || (a == I386 && host == AMD64)
}

// ParseLibc accepts the names users type for a C library.
func ParseLibc(s string) (Libc, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "glibc", "gnu", "debian":
		return Glibc, nil
	case "musl", "alpine":
		return Musl, nil
	}
	return "", fmt.Errorf("unknown libc %q (want glibc or musl)", s)
}

// ParseArch accepts GOARCH names and their common aliases.
func ParseArch(s string) (Arch, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "amd64", "x86_64", "x86-64":
		return AMD64, nil
	case "arm64", "aarch64":
		return ARM64, nil
	case "386", "i386", "i686", "x86":
		return I386, nil
	case "arm", "armv7", "armv7l", "armhf", "arm/v7":
		return ARM, nil
	case "s390x":
		return S390X, nil
	case "ppc64le", "ppc64el":
		return PPC64LE, nil
	case "riscv64":
		return RISCV64, nil
	}
	return "", fmt.Errorf("unknown arch %q (want amd64, arm64, 386, arm, s390x, ppc64le or riscv64)", s)
}

// Cell is one point of the matrix.
type Cell struct {
	Go   string `json:"go"`
	Libc Libc   `json:"libc"`
	Arch Arch   `json:"arch"`
}

// String is the cell's display name, e.g. "go1.26.8/musl/amd64".
func (c Cell) String() string { return fmt.Sprintf("go%s/%s/%s", c.Go, c.Libc, c.Arch) }

// Key is the cell's name where slashes are not allowed (volume names, files).
func (c Cell) Key() string { return fmt.Sprintf("go%s-%s-%s", c.Go, c.Libc, c.Arch) }

// Platform is the OCI platform the cell runs on ("linux/arm/v7" for arm).
func (c Cell) Platform() string {
	if p := c.Arch.Platform(); p != "" {
		return p
	}
	return "linux/" + string(c.Arch)
}

// ParseCell reads the form Key and String print, and also "1.26.8/musl/amd64".
// Empty fields in a partial form ("*/musl/arm64") match anything in Filter.
func ParseCell(s string) (Cell, error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == ',' })
	if len(f) != 3 {
		if k := strings.Split(s, "-"); len(k) == 3 {
			f = k
		} else {
			return Cell{}, fmt.Errorf("cell %q: want GO/LIBC/ARCH, e.g. 1.26.8/musl/arm64 (use * for any)", s)
		}
	}
	var c Cell
	if f[0] != "*" {
		c.Go = strings.TrimPrefix(f[0], "go")
		if err := checkGoVersion(c.Go); err != nil {
			return Cell{}, fmt.Errorf("cell %q: %w", s, err)
		}
	}
	if f[1] != "*" {
		l, err := ParseLibc(f[1])
		if err != nil {
			return Cell{}, fmt.Errorf("cell %q: %w", s, err)
		}
		c.Libc = l
	}
	if f[2] != "*" {
		a, err := ParseArch(f[2])
		if err != nil {
			return Cell{}, fmt.Errorf("cell %q: %w", s, err)
		}
		c.Arch = a
	}
	return c, nil
}

// matches reports whether c fits the pattern p, whose empty fields match anything.
func (p Cell) matches(c Cell) bool {
	return (p.Go == "" || p.Go == c.Go) && (p.Libc == "" || p.Libc == c.Libc) && (p.Arch == "" || p.Arch == c.Arch)
}

// Spec is what the user asked for. Empty axes take the defaults.
type Spec struct {
	Go      []string // exact versions, e.g. "1.27.1"; default: every version pinned
	Libc    []Libc   // default: glibc and musl
	Arch    []Arch   // default: Arches (amd64 and arm64)
	Include []Cell   // extra cells, fully specified
	Exclude []Cell   // patterns; empty fields match anything
}

// Expand returns the cells of s in a stable order (Go newest first, then libc,
// then arch), deduplicated. defaultGo is used when s.Go is empty.
func Expand(s Spec, defaultGo []string) ([]Cell, error) {
	gos := s.Go
	if len(gos) == 0 {
		gos = defaultGo
	}
	for _, g := range gos {
		if err := checkGoVersion(g); err != nil {
			return nil, err
		}
	}
	libcs, arches := s.Libc, s.Arch
	if len(libcs) == 0 {
		libcs = Libcs
	}
	if len(arches) == 0 {
		arches = Arches
	}
	var cells []Cell
	for _, g := range gos {
		for _, l := range libcs {
			for _, a := range arches {
				cells = append(cells, Cell{Go: g, Libc: l, Arch: a})
			}
		}
	}
	for _, c := range s.Include {
		if c.Go == "" || c.Libc == "" || c.Arch == "" {
			return nil, fmt.Errorf("include %s: every field must be set", c)
		}
		cells = append(cells, c)
	}
	cells = slices.DeleteFunc(cells, func(c Cell) bool {
		return slices.ContainsFunc(s.Exclude, func(p Cell) bool { return p.matches(c) })
	})
	Sort(cells)
	cells = slices.Compact(cells)
	if len(cells) == 0 {
		return nil, fmt.Errorf("the matrix is empty: every cell was excluded (go=%v libc=%v arch=%v)", gos, libcs, arches)
	}
	return cells, nil
}

// Filter keeps the cells that match any of the patterns (all when none given).
func Filter(cells []Cell, patterns []Cell) []Cell {
	if len(patterns) == 0 {
		return cells
	}
	return slices.DeleteFunc(slices.Clone(cells), func(c Cell) bool {
		return !slices.ContainsFunc(patterns, func(p Cell) bool { return p.matches(c) })
	})
}

// Sort orders cells: Go newest first, then libc, then arch, as Libcs and AllArches list them.
func Sort(cells []Cell) {
	slices.SortFunc(cells, func(a, b Cell) int {
		if c := CompareGo(b.Go, a.Go); c != 0 {
			return c
		}
		if c := slices.Index(Libcs, a.Libc) - slices.Index(Libcs, b.Libc); c != 0 {
			return c
		}
		return slices.Index(AllArches, a.Arch) - slices.Index(AllArches, b.Arch)
	})
}

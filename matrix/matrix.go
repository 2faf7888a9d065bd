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

	AMD64 Arch = "amd64"
	ARM64 Arch = "arm64"
)

// Libcs and Arches are every value Parity knows, in display order.
var (
	Libcs  = []Libc{Glibc, Musl}
	Arches = []Arch{AMD64, ARM64}
)

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
	}
	return "", fmt.Errorf("unknown arch %q (want amd64 or arm64)", s)
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

// Platform is the OCI platform the cell runs on.
func (c Cell) Platform() string { return "linux/" + string(c.Arch) }

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
	Arch    []Arch   // default: amd64 and arm64
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

// Sort orders cells: Go newest first, then libc, then arch, as Libcs and Arches list them.
func Sort(cells []Cell) {
	slices.SortFunc(cells, func(a, b Cell) int {
		if c := CompareGo(b.Go, a.Go); c != 0 {
			return c
		}
		if c := slices.Index(Libcs, a.Libc) - slices.Index(Libcs, b.Libc); c != 0 {
			return c
		}
		return slices.Index(Arches, a.Arch) - slices.Index(Arches, b.Arch)
	})
}

package matrix

import (
	"fmt"
	"slices"
	"strings"
)

// Target is a GOOS/GOARCH pair that --compile builds every test package
// for, without running anything: other operating systems' build
// constraints and types, checked from a Linux cell.
type Target struct {
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
}

func (t Target) String() string { return t.GOOS + "/" + t.GOARCH }

// ports is `go tool dist list` of Go 1.26: the pairs the go command builds.
var ports = strings.Fields(`aix/ppc64 android/386 android/amd64 android/arm android/arm64
darwin/amd64 darwin/arm64 dragonfly/amd64 freebsd/386 freebsd/amd64 freebsd/arm freebsd/arm64
illumos/amd64 ios/amd64 ios/arm64 js/wasm linux/386 linux/amd64 linux/arm linux/arm64
linux/loong64 linux/mips linux/mips64 linux/mips64le linux/mipsle linux/ppc64 linux/ppc64le
linux/riscv64 linux/s390x netbsd/386 netbsd/amd64 netbsd/arm netbsd/arm64 openbsd/386
openbsd/amd64 openbsd/arm openbsd/arm64 openbsd/ppc64 openbsd/riscv64 plan9/386 plan9/amd64
plan9/arm solaris/amd64 wasip1/wasm windows/386 windows/amd64 windows/arm64`)

// ParseTarget reads "GOOS/GOARCH" (e.g. windows/amd64), as go tool dist
// list prints it.
func ParseTarget(s string) (Target, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	goos, goarch, ok := strings.Cut(t, "/")
	if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
		return Target{}, fmt.Errorf("target %q: want GOOS/GOARCH, e.g. windows/amd64", s)
	}
	if !slices.Contains(ports, t) {
		return Target{}, fmt.Errorf("target %q: Go does not build for it (go tool dist list names the pairs, e.g. windows/amd64, darwin/arm64, freebsd/amd64)", s)
	}
	return Target{GOOS: goos, GOARCH: goarch}, nil
}

// ParseTargets reads a list, refusing a pair given twice.
func ParseTargets(list []string) ([]Target, error) {
	var out []Target
	for _, s := range list {
		t, err := ParseTarget(s)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, t) {
			return nil, fmt.Errorf("target %s given twice", t)
		}
		out = append(out, t)
	}
	return out, nil
}

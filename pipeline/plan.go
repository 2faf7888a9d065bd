// Package pipeline is Parity's one path from inputs to verdict, shared by
// the `parity` command and the Dagger module: read the module's go.mod and
// lock file, expand the matrix, plan every cell, run the cells on a runtime,
// and build the report.
package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
)

// Inputs is everything a run depends on, as data.
type Inputs struct {
	GoMod    []byte // the module's go.mod; required (nil: there is none)
	Lock     []byte // the module's parity.lock.json, if any (nil: none; empty: an empty file, refused)
	LockName string // where Lock came from, for messages
	Matrix   matrix.Spec
	Only     []matrix.Cell // keep only cells matching these patterns
	Policy   policies.Options
	Recheck  Recheck // re-runs and experiments after the first run
	// Shard, when set, makes the run one shard of its cells' packages: go
	// test gets Shard.Packages, while Policy.Packages (what the report's
	// options record) stays the cells' whole patterns. The front doors
	// record it in the report (report.Report.Shard).
	Shard *report.Shard
}

// Plan is the run to be: every cell's Spec, and where its inputs came from.
type Plan struct {
	Module string
	GoLine string
	Pins   string // "built-in" or the lock file's name
	// PinsDigest is Digest of the pins in force (built-in and lock): what
	// the report records, so runs from other checkouts compare by content.
	PinsDigest string
	Specs      []job.Spec
	// Recheck is what runs after the cells (see Execute); PinSet is every
	// pin (built-in ones too), for the --explain Go-version experiment.
	Recheck Recheck
	PinSet  matrix.Pins
}

// ErrNoGoMod is returned when the source has no go.mod.
var ErrNoGoMod = errors.New("no go.mod in the source: Parity tests a Go module (run it where go.mod is, or pass --source)")

// ErrEmptyGoMod is returned when the source's go.mod is empty.
var ErrEmptyGoMod = errors.New("go.mod is empty: it needs a module line (`go mod init MODULE-PATH` writes one)")

// MakePlan turns inputs into Specs. Pure; every bad input is a one-line error.
func MakePlan(in Inputs, rt policies.Traits) (Plan, error) {
	if in.GoMod == nil {
		return Plan{}, ErrNoGoMod
	}
	if len(bytes.TrimSpace(in.GoMod)) == 0 {
		return Plan{}, ErrEmptyGoMod
	}
	mf, err := modfile.Parse("go.mod", in.GoMod, nil)
	if err != nil {
		return Plan{}, fmt.Errorf("go.mod: %w", err)
	}
	if mf.Module == nil {
		return Plan{}, errors.New("go.mod: no module line")
	}
	p := Plan{Module: mf.Module.Mod.Path, Pins: "built-in", Recheck: in.Recheck}
	if mf.Go != nil {
		p.GoLine = mf.Go.Version
	}
	pins := matrix.Builtin()
	if in.Lock != nil {
		// An empty file is refused, not read as "no lock": the user meant
		// some pins.
		p.Pins = in.LockName
		if p.Pins == "" {
			p.Pins = matrix.LockFile
		}
		lock, err := matrix.ParseLockFile(p.Pins, in.Lock)
		if err != nil {
			return Plan{}, err
		}
		pins = pins.Merge(lock.Pins)
	}
	p.PinsDigest = pinsDigest(pins)
	p.PinSet = pins
	cells, err := matrix.Expand(in.Matrix, pins.GoVersions())
	if err != nil {
		return Plan{}, err
	}
	if cells = matrix.Filter(cells, in.Only); len(cells) == 0 {
		return Plan{}, errors.New("the matrix is empty: no cell matches the filter")
	}
	// One line for every missing pin, not one per cell.
	if err := pins.Covers(cells); err != nil {
		return Plan{}, err
	}
	// A platform the pinned index is known not to publish is said now, in
	// one line, not when the cell's pull fails.
	if err := pins.Unavailable(cells); err != nil {
		return Plan{}, err
	}
	for _, pat := range in.Policy.TmpdirSymlink {
		if !policies.MatchesAny(cells, pat) {
			return Plan{}, fmt.Errorf("--tmpdir-symlink %s: no cell of the matrix matches it (cells: %s)", patternString(pat), cellList(cells))
		}
	}
	opt := in.Policy
	opt.GoModGo = p.GoLine
	if in.Shard != nil {
		opt.Packages = in.Shard.Packages
	}
	if opt.CellsAtOnce <= 0 || opt.CellsAtOnce > len(cells) {
		opt.CellsAtOnce = len(cells) // the memory limit shares the host among them
	}
	var errs []string
	runnable := 0
	compileIn, hasCompile := compileCell(cells, p.GoLine, rt)
	for _, c := range cells {
		opt := opt
		if !hasCompile || c != compileIn {
			opt.Compile = nil
		}
		s, err := policies.Plan(c, pins, opt, rt)
		if err != nil {
			if !slices.Contains(errs, err.Error()) {
				errs = append(errs, err.Error())
			}
			continue
		}
		if s.NotRunnable == "" {
			runnable++
		}
		p.Specs = append(p.Specs, s)
	}
	if err := matrix.OneLine(errs, "cells that cannot be planned"); err != nil {
		return Plan{}, err
	}
	if runnable == 0 {
		var gos []string // cells are sorted by Go version: equal ones are adjacent
		for _, c := range cells {
			gos = append(gos, c.Go)
		}
		return Plan{}, fmt.Errorf("go.mod requires go >= %s, newer than every cell's Go (%s): pin a newer image in %s or lower the go line",
			p.GoLine, strings.Join(slices.Compact(gos), ", "), matrix.LockFile)
	}
	return p, nil
}

// Digest is "sha256:<hex>" of b: how reports name go.sum and the pins.
func Digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// pinsDigest digests the pin in force for each (Go, libc), in a fixed
// order: a lock that repeats a built-in pin digests as the built-in one.
func pinsDigest(pins matrix.Pins) string {
	var b strings.Builder
	for _, g := range pins.GoVersions() {
		for _, l := range matrix.Libcs {
			if pin, _, err := pins.Lookup(matrix.Cell{Go: g, Libc: l}); err == nil {
				fmt.Fprintf(&b, "%s\t%s\t%s\n", pin.Go, pin.Libc, pin.Image)
			}
		}
	}
	return Digest([]byte(b.String()))
}

// compileCell picks the one cell that builds the --compile targets: the
// first runnable cell (newest Go, glibc first) of its machine's own arch,
// else one its machine runs natively (386 on amd64), else any: compiling under
// emulation is slow, and cross-compilation gives the same answer from any
// Linux arch. ok is false when no cell can run.
func compileCell(cells []matrix.Cell, goLine string, rt policies.Traits) (matrix.Cell, bool) {
	native := func(c matrix.Cell) matrix.Arch { return rt.For(c.Platform()).NativeArch }
	var runnable []matrix.Cell
	for _, c := range cells {
		if goLine == "" || matrix.CompareGo(c.Go, goLine) >= 0 {
			runnable = append(runnable, c)
		}
	}
	for _, pick := range []func(matrix.Cell) bool{
		func(c matrix.Cell) bool { return c.Arch == native(c) },
		func(c matrix.Cell) bool { return native(c) != "" && c.Arch.RunsNativelyOn(native(c)) },
		func(matrix.Cell) bool { return true },
	} {
		if i := slices.IndexFunc(runnable, pick); i >= 0 {
			return runnable[i], true
		}
	}
	return matrix.Cell{}, false
}

// cellList names the cells, comma-separated.
func cellList(cells []matrix.Cell) string {
	names := make([]string, len(cells))
	for i, c := range cells {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}

// patternString prints a cell pattern as users write it: * for any field.
func patternString(p matrix.Cell) string {
	f := []string{"*", "*", "*"}
	if p.Go != "" {
		f[0] = p.Go
	}
	if p.Libc != "" {
		f[1] = string(p.Libc)
	}
	if p.Arch != "" {
		f[2] = string(p.Arch)
	}
	return strings.Join(f, "/")
}

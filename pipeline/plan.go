// Package pipeline is Parity's one path from inputs to verdict, shared by
// the `parity` command and the Dagger module: read the module's go.mod and
// lock file, expand the matrix, plan every cell, run the cells on a runtime,
// and build the report.
package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
)

// Inputs is everything a run depends on, as data.
type Inputs struct {
	GoMod    []byte // the module's go.mod; required
	Lock     []byte // the module's parity.lock.json, if any
	LockName string // where Lock came from, for messages
	Matrix   matrix.Spec
	Only     []matrix.Cell // keep only cells matching these patterns
	Policy   policies.Options
}

// Plan is the run to be: every cell's Spec, and where its inputs came from.
type Plan struct {
	Module string
	GoLine string
	Pins   string // "built-in" or the lock file's name
	Specs  []job.Spec
}

// ErrNoGoMod is returned when the source has no go.mod.
var ErrNoGoMod = errors.New("no go.mod in the source: Parity tests a Go module (run it where go.mod is, or pass --source)")

// MakePlan turns inputs into Specs. Pure; every bad input is a one-line error.
func MakePlan(in Inputs, rt policies.Traits) (Plan, error) {
	if len(in.GoMod) == 0 {
		return Plan{}, ErrNoGoMod
	}
	mf, err := modfile.Parse("go.mod", in.GoMod, nil)
	if err != nil {
		return Plan{}, fmt.Errorf("go.mod: %w", err)
	}
	if mf.Module == nil {
		return Plan{}, errors.New("go.mod: no module line")
	}
	p := Plan{Module: mf.Module.Mod.Path, Pins: "built-in"}
	if mf.Go != nil {
		p.GoLine = mf.Go.Version
	}
	pins := matrix.Builtin()
	if len(in.Lock) > 0 {
		lock, err := matrix.ParseLock(in.Lock)
		if err != nil {
			return Plan{}, err
		}
		pins = pins.Merge(lock.Pins)
		p.Pins = in.LockName
		if p.Pins == "" {
			p.Pins = matrix.LockFile
		}
	}
	cells, err := matrix.Expand(in.Matrix, pins.GoVersions())
	if err != nil {
		return Plan{}, err
	}
	if cells = matrix.Filter(cells, in.Only); len(cells) == 0 {
		return Plan{}, errors.New("the matrix is empty: no cell matches the filter")
	}
	opt := in.Policy
	opt.GoModGo = p.GoLine
	var errs []string
	runnable := 0
	for _, c := range cells {
		s, err := policies.Plan(c, pins, opt, rt)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if s.NotRunnable == "" {
			runnable++
		}
		p.Specs = append(p.Specs, s)
	}
	if len(errs) > 0 {
		return Plan{}, errors.New(strings.Join(errs, "\n"))
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

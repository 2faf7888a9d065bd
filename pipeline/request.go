package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
)

// Request is a run as users ask for it, in words: the `parity` flags and
// the Dagger module's arguments both fill one, so both accept and refuse
// the same things with the same messages.
type Request struct {
	Go, Libc, Arch, Include, Exclude []string
	Profile                          string // "pre-push": only cells of HostArch
	HostArch                         string
	Race, Cgo, Ptrace                string
	Count                            int
	Shuffle, Run                     string
	Timeout, CellTimeout             string // Go durations
	Packages                         []string
	CacheScope                       string
	CABundle                         string
	DepsEnv                          map[string]string
	AllowDivergence                  bool // divergent tests alone do not fail the verdict
}

// SplitList splits "a,b c" into its items; flags accept either separator.
func SplitList(items ...string) []string {
	var out []string
	for _, s := range items {
		out = append(out, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}

// Inputs checks the request and turns it into pipeline inputs (go.mod and
// lock file are the caller's to read).
func (r Request) Inputs(goMod, lock []byte, lockName string) (Inputs, error) {
	in := Inputs{GoMod: goMod, Lock: lock, LockName: lockName}
	var err error
	if in.Matrix, in.Only, err = r.matrix(); err != nil {
		return in, err
	}
	in.Policy, err = r.policy()
	return in, err
}

func (r Request) matrix() (matrix.Spec, []matrix.Cell, error) {
	var s matrix.Spec
	s.Go = SplitList(r.Go...)
	for _, l := range SplitList(r.Libc...) {
		v, err := matrix.ParseLibc(l)
		if err != nil {
			return s, nil, fmt.Errorf("--libc: %w", err)
		}
		s.Libc = append(s.Libc, v)
	}
	for _, a := range SplitList(r.Arch...) {
		v, err := matrix.ParseArch(a)
		if err != nil {
			return s, nil, fmt.Errorf("--arch: %w", err)
		}
		s.Arch = append(s.Arch, v)
	}
	for _, c := range SplitList(r.Include...) {
		v, err := matrix.ParseCell(c)
		if err != nil {
			return s, nil, fmt.Errorf("--include: %w", err)
		}
		s.Include = append(s.Include, v)
	}
	for _, c := range SplitList(r.Exclude...) {
		v, err := matrix.ParseCell(c)
		if err != nil {
			return s, nil, fmt.Errorf("--exclude: %w", err)
		}
		s.Exclude = append(s.Exclude, v)
	}
	switch r.Profile {
	case "":
		return s, nil, nil
	case "pre-push":
		// Fast: native cells only, nothing emulated.
		host, err := matrix.ParseArch(r.HostArch)
		if err != nil {
			return s, nil, fmt.Errorf("--profile pre-push: %w", err)
		}
		return s, []matrix.Cell{{Arch: host}}, nil
	}
	return s, nil, fmt.Errorf("--profile %q: the only profile is pre-push", r.Profile)
}

func (r Request) policy() (policies.Options, error) {
	var o policies.Options
	var err error
	if o.Race, err = policies.ParseMode(r.Race); err != nil {
		return o, fmt.Errorf("--race: %w", err)
	}
	if o.Cgo, err = policies.ParseMode(r.Cgo); err != nil {
		return o, fmt.Errorf("--cgo: %w", err)
	}
	if o.Ptrace, err = policies.ParsePtrace(r.Ptrace); err != nil {
		return o, fmt.Errorf("--ptrace: %w", err)
	}
	if r.Count < 0 {
		return o, fmt.Errorf("--count %d: must be 0 or more", r.Count)
	}
	if o.TestTimeout, err = duration("--timeout", r.Timeout); err != nil {
		return o, err
	}
	if o.CellTimeout, err = duration("--cell-timeout", r.CellTimeout); err != nil {
		return o, err
	}
	o.Count, o.Shuffle, o.Run = r.Count, r.Shuffle, r.Run
	o.Packages = SplitList(r.Packages...)
	o.CacheScope, o.CABundle, o.DepsEnv = r.CacheScope, r.CABundle, r.DepsEnv
	return o, nil
}

func duration(flag, s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q: want a duration such as 90s or 10m", flag, s)
	}
	return d, nil
}

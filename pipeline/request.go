package pipeline

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/docker/go-units"

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
	SourceMode                       string // readonly (default) or copy
	Count                            int
	Shuffle, Run                     string
	Timeout, CellTimeout             string // Go durations
	Packages                         []string
	CacheScope                       string
	CacheTrust                       string // auto, trusted or untrusted
	CI                               CI     // where auto looks
	CABundle                         string
	DepsEnv                          map[string]string
	AllowDivergence                  bool // divergent tests alone do not fail the verdict
	// Re-runs and experiments (see Recheck): Reruns more runs of each
	// failing or divergent test per cell (0 = none; the CLI's default is 2),
	// Explain auto, on or off ("" = off; the CLI's default is auto).
	Reruns      int
	FailOnFlaky bool
	Explain     string
	// ReRunsMax bounds the re-runs of a test per cell when its counts do
	// not yet tell flaky from divergent (report.Undecided): more re-runs
	// are made, two at a time, up to it (0 = Reruns: none beyond them).
	ReRunsMax int
	// Per-cell limits: CellMemory a size ("2GiB", "512MiB"; empty or 0 =
	// derived from the host), CellCPUs a number of cores ("1.5"; empty =
	// the host's cores, 0 is refused).
	CellMemory, CellCPUs string
	CellPids             int
	Parallel             int // cells at once (0 = all): they share the host's memory

	// go test flags: Short is auto (on in the pre-push profile), on or off.
	Short, Skip string
	Tags        []string
	Failfast    bool
	// Compile lists GOOS/GOARCH targets ("windows/amd64") every test
	// package is built for, without running (one cell does it; see MakePlan).
	Compile []string
	// TmpdirSymlink names the cells ("all", or patterns such as
	// "*/*/amd64") whose TMPDIR is reached through a symlink, as on macOS.
	TmpdirSymlink []string
	// SourceID is a stable identity of the source (see DefaultCacheScope);
	// with the module path it names the cache volumes when CacheScope is
	// empty, so no two projects share them.
	SourceID       string
	RegistryMirror string // host[:port][/path]; checked here, used by the runtime
	// MirrorFrom is where RegistryMirror came from, for its error:
	// MirrorFlag ("--registry-mirror", also when empty) or MirrorEnv
	// ("PARITY_REGISTRY_MIRROR": the user never typed the flag).
	MirrorFrom string
	// Shard ("I/N") and ShardPackages: the run is one shard of its cells'
	// packages (see Args.Shard).
	Shard         string
	ShardPackages []string
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
	if err := r.check(); err != nil {
		return in, err
	}
	if in.Policy, err = r.policy(); err != nil {
		return in, err
	}
	if in.Recheck, err = r.recheck(); err != nil {
		return in, err
	}
	if in.Shard, err = r.shard(); err != nil {
		return in, err
	}
	if in.Policy.CacheScope == "" {
		in.Policy.CacheScope = DefaultCacheScope(modfile.ModulePath(goMod), r.SourceID)
	}
	return in, nil
}

// check refuses what go test or the runtime would misread, naming the
// flag and what it takes, before anything runs.
func (r Request) check() error {
	if err := checkTestRegexp("--run", r.Run); err != nil {
		return err
	}
	if err := checkTestRegexp("--skip", r.Skip); err != nil {
		return err
	}
	if err := checkPackages(SplitList(r.Packages...)); err != nil {
		return err
	}
	if err := checkDepsEnv(r.DepsEnv); err != nil {
		return err
	}
	for _, t := range SplitList(r.Tags...) {
		if !buildTagRE.MatchString(t) {
			return fmt.Errorf("--tags %q: a build tag is letters, digits, _ and . (comma-separated)", t)
		}
	}
	switch r.Shuffle {
	case "", "on", "off":
	default:
		if _, err := strconv.ParseInt(r.Shuffle, 10, 64); err != nil {
			return fmt.Errorf("--shuffle %q: want on, off or a seed (an integer)", r.Shuffle)
		}
	}
	if r.CacheScope != "" {
		if err := checkCacheScope(r.CacheScope); err != nil {
			return err
		}
	}
	if r.RegistryMirror != "" {
		if err := CheckMirror(r.MirrorFrom, r.RegistryMirror); err != nil {
			return err
		}
	}
	return nil
}

var buildTagRE = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

// checkTestRegexp compiles a -run or -skip pattern as go test would: each
// slash-separated part is a regexp, and a whole that compiles has parts
// that do (the test package splits outside brackets and parentheses).
func checkTestRegexp(flag, re string) error {
	if re == "" {
		return nil
	}
	if _, err := regexp.Compile(re); err != nil {
		return fmt.Errorf("%s %q: %v", flag, re, err)
	}
	return nil
}

func (r Request) matrix() (matrix.Spec, []matrix.Cell, error) {
	var s matrix.Spec
	if err := checkGoVersions(SplitList(r.Go...)); err != nil {
		return s, nil, err
	}
	for _, g := range SplitList(r.Go...) {
		s.Go = append(s.Go, strings.TrimPrefix(g, "go")) // go1.27.1, as cells print it
	}
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
	if o.SourceMode, err = policies.ParseSourceMode(r.SourceMode); err != nil {
		return o, fmt.Errorf("--source-mode: %w", err)
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
	if o.CellMemory, o.CellPids, o.CellCPUs, err = r.limits(); err != nil {
		return o, err
	}
	o.CellsAtOnce = r.Parallel
	o.Count, o.Shuffle, o.Run = r.Count, r.Shuffle, r.Run
	short, err := policies.ParseMode(r.Short)
	if err != nil {
		return o, fmt.Errorf("--short: %w", err)
	}
	o.Short = short == policies.On || (short == policies.Auto && r.Profile == "pre-push")
	o.Skip, o.Tags, o.Failfast = r.Skip, SplitList(r.Tags...), r.Failfast
	o.Packages = SplitList(r.Packages...)
	o.CacheScope, o.CABundle, o.DepsEnv = r.CacheScope, r.CABundle, r.DepsEnv
	if o.CacheTrust, o.TrustReason, err = ResolveTrust(r.CacheTrust, r.CI); err != nil {
		return o, err
	}
	if o.Compile, err = matrix.ParseTargets(SplitList(r.Compile...)); err != nil {
		return o, fmt.Errorf("--compile: %w", err)
	}
	if o.TmpdirSymlink, err = tmpdirCells(SplitList(r.TmpdirSymlink...)); err != nil {
		return o, err
	}
	return o, nil
}

// tmpdirCells reads --tmpdir-symlink: "all", or cell patterns.
func tmpdirCells(items []string) ([]matrix.Cell, error) {
	var cells []matrix.Cell
	for _, it := range items {
		if it == "all" || it == "*" {
			cells = append(cells, policies.AllCells)
			continue
		}
		c, err := matrix.ParseCell(it)
		if err != nil {
			return nil, fmt.Errorf("--tmpdir-symlink: %w (or all)", err)
		}
		cells = append(cells, c)
	}
	return cells, nil
}

// limits checks the per-cell limits; each error is one line naming its flag.
func (r Request) limits() (mem, pids int64, cpus float64, err error) {
	if s := strings.TrimSpace(r.CellMemory); s != "" && s != "0" {
		mem, err = units.RAMInBytes(s)
		if err != nil || mem < 64<<20 {
			return 0, 0, 0, fmt.Errorf("--cell-memory %q: want a size of at least 64MiB, such as 2GiB or 512MiB", r.CellMemory)
		}
	}
	if r.CellPids < 0 || (r.CellPids > 0 && r.CellPids < 64) {
		return 0, 0, 0, fmt.Errorf("--cell-pids %d: want at least 64 processes (0 = the default, %d)", r.CellPids, policies.DefaultPids)
	}
	if cpus, err = parseCellCPUs(r.CellCPUs); err != nil {
		return 0, 0, 0, err
	}
	if r.Parallel < 0 {
		return 0, 0, 0, fmt.Errorf("--parallel %d: must be 0 (all cells) or more", r.Parallel)
	}
	return mem, int64(r.CellPids), cpus, nil
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

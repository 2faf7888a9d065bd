package pipeline

import (
	"fmt"
	"strings"
)

// Args are a run's options exactly as users give them, in either front
// door: the `parity` flags bind to these fields and the Dagger module's
// constructor copies its arguments into them. Args.Request is the one
// builder of a Request, so both doors accept and refuse the same input
// with the same words. What only one door has (a path on the caller's
// machine, a Dagger File or Secret) stays with that door: see FrontDoors.
type Args struct {
	Go, Libc, Arch, Include, Exclude []string
	Profile                          string
	Race, Cgo, Ptrace, SourceMode    string
	Count                            int
	Shuffle, Timeout, CellTimeout    string
	Packages                         []string
	Run, Skip, Short                 string
	Tags                             []string
	Failfast                         bool
	Compile                          []string // GOOS/GOARCH targets to build every test package for
	TmpdirSymlink                    []string // cells whose TMPDIR is behind a symlink, as on macOS: "all" or patterns
	CellMemory, CellCPUs             string
	CellPids, Parallel               int
	Reruns, ReRunsMax                int
	FailOnFlaky                      bool
	Explain                          string
	CacheScope, RegistryMirror       string
	// CacheTrust is auto, trusted or untrusted: whether this run may
	// write the caches later runs read (see ResolveTrust).
	CacheTrust string
	// DepsEnv are KEY=VALUE items for the deps step only; Goprivate sets
	// GOPRIVATE (Dagger splits list arguments at commas, GOPRIVATE has them).
	DepsEnv         []string
	Goprivate       string
	AllowDivergence bool
	// Revision names the source's VCS revision in the report (merge
	// refuses reports of different revisions).
	Revision string
	// Shard ("I/N") and ShardPackages make the run one shard of its cells'
	// packages, as `parity plan --shards` split them: go test gets
	// ShardPackages, the report keeps Packages as its options and records
	// the shard, and merge folds the shards of a cell back into one.
	Shard         string
	ShardPackages []string
}

// Host is what a front door knows of where it runs, beside the options.
type Host struct {
	Arch string // the machine's (or engine's) arch: the pre-push profile keeps it
	// SourceID is the source's stable identity: with the module path it
	// names the cache volumes, so no two projects share them.
	SourceID string
	// MirrorFrom says where Args.RegistryMirror came from, for its error
	// ("--registry-mirror" or the variable's name).
	MirrorFrom string
	// DepsEnv are the caller's own settings for module downloads (GOPROXY,
	// GOPRIVATE, proxies: the CLI reads them from its environment); items
	// of Args.DepsEnv override them.
	DepsEnv map[string]string
	// CABundle is the extra CA bundle as the runtime names it (a host path,
	// or a Dagger File's name), already read and checked by the front door.
	CABundle string
	// CI is the CI system the front door runs in, for --cache-trust=auto
	// (the Dagger module sees none: a call is trusted).
	CI CI
}

// Request checks what only Args hold (the KEY=VALUE lists) and fills the
// Request that planning checks further.
func (a Args) Request(h Host) (Request, error) {
	env, err := depsEnv(h.DepsEnv, a.DepsEnv, a.Goprivate)
	if err != nil {
		return Request{}, err
	}
	return Request{
		Go: a.Go, Libc: a.Libc, Arch: a.Arch, Include: a.Include, Exclude: a.Exclude,
		Profile: a.Profile, HostArch: h.Arch,
		Race: a.Race, Cgo: a.Cgo, Ptrace: a.Ptrace, SourceMode: a.SourceMode,
		Count: a.Count, Shuffle: a.Shuffle, Run: a.Run, Timeout: a.Timeout, CellTimeout: a.CellTimeout,
		Packages: a.Packages, CacheScope: a.CacheScope, CacheTrust: a.CacheTrust, CABundle: h.CABundle, DepsEnv: env,
		AllowDivergence: a.AllowDivergence,
		Reruns:          a.Reruns, ReRunsMax: a.ReRunsMax, FailOnFlaky: a.FailOnFlaky, Explain: a.Explain,
		CellMemory: a.CellMemory, CellCPUs: a.CellCPUs, CellPids: a.CellPids, Parallel: a.Parallel,
		Short: a.Short, Skip: a.Skip, Tags: a.Tags, Failfast: a.Failfast, Compile: a.Compile, TmpdirSymlink: a.TmpdirSymlink,
		SourceID: h.SourceID, RegistryMirror: a.RegistryMirror, MirrorFrom: h.MirrorFrom, CI: h.CI,
		Shard: a.Shard, ShardPackages: a.ShardPackages,
	}, nil
}

// depsEnv merges the caller's settings with the given KEY=VALUE items; a
// key given twice in the items is refused rather than silently resolved.
func depsEnv(host map[string]string, items []string, goprivate string) (map[string]string, error) {
	env := map[string]string{}
	for k, v := range host {
		env[k] = v
	}
	given := map[string]bool{}
	for _, kv := range items {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !envKeyRE.MatchString(k) {
			return nil, fmt.Errorf("--deps-env %q: want KEY=VALUE, KEY of letters, digits and _", kv)
		}
		if given[k] {
			return nil, fmt.Errorf("--deps-env: %s given twice", k)
		}
		given[k] = true
		env[k] = v
	}
	if goprivate != "" {
		if given["GOPRIVATE"] {
			return nil, fmt.Errorf("--goprivate and --deps-env GOPRIVATE=...: give one")
		}
		env["GOPRIVATE"] = goprivate
	}
	if len(env) == 0 {
		return nil, nil
	}
	return env, nil
}

// FrontDoor is an option that one door names differently or lacks, and
// why. Every other option has the same name in `parity test|report|plan`
// and in the Dagger module (constructor or function): a test in
// cmd/parity holds both doors to this table.
type FrontDoor struct {
	CLI    string // the flag of `parity test`, "" if the CLI lacks it
	Dagger string // the argument of `dagger call`, "" if the module lacks it
	Why    string
}

// FrontDoors is the whole list of differences between the two doors.
var FrontDoors = []FrontDoor{
	{"go", "go-version", "a Go parameter cannot be named go (a keyword)"},
	{"lock", "pins", "--lock is a global flag of `dagger call`, which takes it first"},
	{"runtime", "", "the module always runs on the engine that calls it"},
	{"no-progress", "", "Dagger draws its own progress"},
	{"out", "", "`dagger call report ... -o DIR` exports the report directory"},
	{"json", "", "`dagger call report ... -o DIR` exports report.json"},
	{"junit", "", "`dagger call report ... -o DIR` exports junit.xml"},
	{"markdown", "", "`dagger call report ... -o DIR` exports summary.md"},
	{"", "netrc", "a Dagger Secret for private modules; the CLI has no secret input yet (its deps step gets GOPROXY, GOPRIVATE and the proxies from the caller's environment)"},
	{"", "git-token", "a Dagger Secret for private modules; the CLI has no secret input yet"},
	{"", "git-host", "the host --git-token is offered to"},
	{"cache-dir", "", "Dagger keeps its caches in its engine, whose volumes only steps that run none of the module's code write: there is no directory to carry (persist the engine, e.g. Dagger Cloud's cache, instead)"},
	{"endpoint", "", "a Dagger session runs every container on its one engine, chosen by the CLI that opened it: a module cannot open a second engine for a platform (run one job per engine and merge)"},
}

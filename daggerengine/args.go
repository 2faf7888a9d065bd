package daggerengine

import (
	"fmt"
	"strings"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
)

// Args are the Dagger module's arguments in plain Go types: the module
// copies its parameters here and everything else — checking them, turning
// them into a pipeline.Request — happens in this package, where it is
// tested without an engine. Files and secrets travel in Options.
type Args struct {
	Go, Libc, Arch, Include, Exclude []string
	Profile                          string // "pre-push": only the engine's arch
	Race, Cgo, Ptrace                string
	Count                            int
	Shuffle, Timeout, CellTimeout    string
	Packages                         []string
	Run, Skip                        string
	Short                            string // auto, on, off
	Tags                             []string
	Failfast                         bool

	CellMemory, CellCPUs string
	CellPids             int
	Parallel             int

	// Re-runs of failing and divergent tests, and experiments on the
	// divergent ones (the CLI's defaults: 2 and auto).
	Reruns      int
	FailOnFlaky bool
	Explain     string

	CacheScope     string
	RegistryMirror string
	// DepsEnv are KEY=VALUE variables for the deps step only; Goprivate
	// sets GOPRIVATE (its commas would split a list argument).
	DepsEnv   []string
	Goprivate string

	AllowDivergence bool
}

// Request checks the arguments that only the module has (KEY=VALUE lists)
// and fills the request every entry point shares. native is the engine's
// arch: the pre-push profile keeps its cells.
func (a Args) Request(native matrix.Arch) (pipeline.Request, error) {
	r := pipeline.Request{
		Go: a.Go, Libc: a.Libc, Arch: a.Arch, Include: a.Include, Exclude: a.Exclude,
		Profile: a.Profile, HostArch: string(native),
		Race: a.Race, Cgo: a.Cgo, Ptrace: a.Ptrace, Count: a.Count, Shuffle: a.Shuffle,
		Timeout: a.Timeout, CellTimeout: a.CellTimeout, Packages: a.Packages,
		Run: a.Run, Skip: a.Skip, Short: a.Short, Tags: a.Tags, Failfast: a.Failfast,
		CellMemory: a.CellMemory, CellCPUs: a.CellCPUs, CellPids: a.CellPids, Parallel: a.Parallel,
		Reruns: a.Reruns, FailOnFlaky: a.FailOnFlaky, Explain: a.Explain,
		CacheScope: a.CacheScope, RegistryMirror: a.RegistryMirror,
		AllowDivergence: a.AllowDivergence,
	}
	env, err := depsEnv(a.DepsEnv, a.Goprivate)
	if err != nil {
		return r, err
	}
	r.DepsEnv = env
	return r, nil
}

// depsEnv parses KEY=VALUE items; a key given twice is refused rather than
// silently resolved.
func depsEnv(items []string, goprivate string) (map[string]string, error) {
	env := map[string]string{}
	for _, kv := range items {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, fmt.Errorf("--deps-env %q: want KEY=VALUE", kv)
		}
		if _, dup := env[k]; dup {
			return nil, fmt.Errorf("--deps-env: %s given twice", k)
		}
		env[k] = v
	}
	if goprivate != "" {
		if _, dup := env["GOPRIVATE"]; dup {
			return nil, fmt.Errorf("--goprivate and --deps-env GOPRIVATE=...: give one")
		}
		env["GOPRIVATE"] = goprivate
	}
	if len(env) == 0 {
		return nil, nil
	}
	return env, nil
}

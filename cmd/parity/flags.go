package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pins"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
)

// runFlags are the flags of test, report and plan.
type runFlags struct {
	source, runtime, lock, profile       string
	gos, libcs, arches, include, exclude string
	race, cgo, ptrace, shuffle, packages string
	sourceMode                           string
	runRE, mirror, caBundle, cacheScope  string
	cacheTrust, cacheDir                 string
	testTimeout, cellTimeout             string
	count, parallel                      int
	allowDivergence, noProgress          bool
	out, jsonOut, junitOut, markdownOut  string
	depsEnv                              multiFlag
	cellMemory, cellCPUs                 string
	cellPids                             int
	short                                modeFlag
	tags, skipRE                         string
	compile, tmpdirSymlink               string
	failfast                             bool
	set                                  map[string]bool // flags given on the command line
	// Re-runs and experiments (package recheck).
	reruns      int
	rerunsMax   int
	failOnFlaky bool
	explain     string
	goprivate   string
	revision    string
	// One shard of the cells' packages (parity plan --shards prints them).
	shard, shardPackages string
	// --endpoint PLATFORM=URL: the daemon that runs a platform's cells.
	endpoints multiFlag
	// plan only: split each cell's packages into this many shards.
	shards  int
	timings string
}

// modeFlag is auto, on or off, and reads like a boolean flag: "--short"
// alone is on, as go test's -short is.
type modeFlag string

func (m *modeFlag) String() string { return string(*m) }
func (m *modeFlag) Set(s string) error {
	v, err := policies.ParseMode(s)
	*m = modeFlag(v)
	return err
}
func (m *modeFlag) IsBoolFlag() bool { return true }

// parseFlags parses args; a bad flag is one line and a hint, not the whole
// usage, and -h prints the usage to stdout.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (map[string]bool, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "usage of %s:\n", fs.Name())
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run '%s -h')", strings.TrimPrefix(fs.Name(), "parity "), err, fs.Name())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	return set, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func newRunFlags(name string, stderr io.Writer) (*flag.FlagSet, *runFlags) {
	f := &runFlags{}
	fs := flag.NewFlagSet("parity "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.source, "source", ".", "the Go module to test (the directory holding go.mod)")
	fs.StringVar(&f.runtime, "runtime", "auto", "docker, dagger, or auto (dagger inside 'dagger run', else docker)")
	fs.StringVar(&f.gos, "go", "", "Go versions, comma-separated (default: every pinned version)")
	fs.StringVar(&f.libcs, "libc", "", "C libraries: glibc,musl (default both)")
	fs.StringVar(&f.arches, "arch", "", "architectures: amd64,arm64 (default both)")
	fs.StringVar(&f.include, "include", "", "extra cells, e.g. 1.26.8/musl/arm64, comma-separated")
	fs.StringVar(&f.exclude, "exclude", "", "cells to leave out; * matches anything, e.g. */musl/arm64")
	fs.StringVar(&f.race, "race", "auto", "auto (on wherever it can work), on, off")
	fs.StringVar(&f.cgo, "cgo", "auto", "CGO_ENABLED in every cell: auto (1), on, off")
	fs.StringVar(&f.ptrace, "ptrace", "", "off, children or attach (default: attach on Docker, children on Dagger)")
	fs.StringVar(&f.sourceMode, "source-mode", "readonly", "readonly, or copy: tests get a writable scratch copy of the module (go.mod and go.sum stay read-only)")
	fs.IntVar(&f.count, "count", 0, "go test -count")
	fs.StringVar(&f.shuffle, "shuffle", "", "go test -shuffle: on, off or a seed")
	fs.StringVar(&f.testTimeout, "timeout", "", "go test -timeout (default go's 10m)")
	fs.StringVar(&f.cellTimeout, "cell-timeout", "", "stop a cell after this long, all steps included (default none)")
	fs.StringVar(&f.packages, "packages", "./...", "packages to test, comma- or space-separated")
	fs.StringVar(&f.runRE, "run", "", "go test -run")
	fs.StringVar(&f.skipRE, "skip", "", "go test -skip")
	fs.StringVar(&f.tags, "tags", "", "go test -tags: build tags, comma-separated")
	fs.StringVar(&f.compile, "compile", "", "also build every test package for these GOOS/GOARCH targets without running them, e.g. windows/amd64,darwin/arm64")
	fs.StringVar(&f.tmpdirSymlink, "tmpdir-symlink", "", "cells whose TMPDIR is reached through a symlink, as on macOS (/var -> /private/var): all, or cells such as */*/amd64, comma-separated")
	fs.Var(&f.short, "short", "go test -short: --short or --short=off (default: on in the pre-push profile, else off)")
	fs.BoolVar(&f.failfast, "failfast", false, "go test -failfast (tests a cell did not run are not compared)")
	fs.IntVar(&f.parallel, "parallel", 0, "cells at once (default: all)")
	fs.StringVar(&f.cellMemory, "cell-memory", "", "memory limit of each cell, e.g. 2GiB (default: 3/4 of the host's memory shared by the cells at once, at least 1GiB)")
	fs.IntVar(&f.cellPids, "cell-pids", 0, "process limit of each cell (default 4096)")
	fs.StringVar(&f.cellCPUs, "cell-cpus", "", "CPU limit of each cell in cores, e.g. 1.5 (default: the host's cores)")
	fs.BoolVar(&f.allowDivergence, "allow-divergence", false, "do not fail the verdict on divergent tests alone")
	fs.IntVar(&f.reruns, "reruns", 2, "re-run each failing or divergent test this many more times in every cell where it ran, to tell flaky from divergent")
	fs.IntVar(&f.rerunsMax, "reruns-max", 10, "re-run a test at most this many times per cell while its pass/fail counts cannot tell flaky from divergent")
	fs.BoolVar(&f.failOnFlaky, "fail-on-flaky", false, "fail the verdict on flaky tests too")
	fs.StringVar(&f.explain, "explain", "auto", "prove the cause of each divergent test by experiment: auto (when at most 10 diverge), on, off")
	fs.StringVar(&f.lock, "lock", "", "the pins file (default: SOURCE/"+matrix.LockFile+" if present, else the built-in pins)")
	fs.StringVar(&f.mirror, "registry-mirror", pins.MirrorFromEnv(), "fetch images through this registry mirror (env "+pins.MirrorEnv+")")
	fs.StringVar(&f.caBundle, "ca-bundle", os.Getenv("PARITY_CA_BUNDLE"), "extra CA certificates for the module download step (env PARITY_CA_BUNDLE)")
	fs.Var(&f.depsEnv, "deps-env", "KEY=VALUE for the module download step only (repeatable); GOPROXY, GOPRIVATE, GONOSUMDB, GONOPROXY, GOSUMDB, GOINSECURE and HTTP(S)_PROXY/NO_PROXY are passed from the environment when set")
	fs.StringVar(&f.goprivate, "goprivate", "", "GOPRIVATE for the module download step (default: the environment's)")
	fs.StringVar(&f.revision, "revision", "", "the source's VCS revision, recorded in the report (default: git's HEAD of --source)")
	fs.StringVar(&f.cacheScope, "cache-scope", "", "prefix of the cache volume names (default: this project's own, from its module path and git root commit or directory; name one to share caches across projects)")
	fs.StringVar(&f.cacheTrust, "cache-trust", "auto", "trusted: this run may write the caches later runs read (the default branch); untrusted: it reads them and writes nothing (pull requests, forks); auto: from the CI's environment (GitHub Actions, GitLab CI, Buildkite), trusted outside CI")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "restore the caches from this directory before the run and, when the run is trusted, save them there after it: one directory for a CI cache step (actions/cache, GitLab cache:) to carry between machines (Docker runtime)")
	fs.StringVar(&f.shard, "shard", "", "run one shard of each cell's packages, I/N as parity plan --shards prints it (the report records it; merge folds the shards)")
	fs.StringVar(&f.shardPackages, "shard-packages", "", "the packages of that shard, as parity plan --shards prints them (go test gets these; --packages stays the cells' whole patterns)")
	fs.Var(&f.endpoints, "endpoint", "PLATFORM=URL: run that platform's cells on this Docker daemon (repeatable), e.g. linux/arm64=ssh://user@arm-host; unix://, tcp:// (TLS: ?certs=DIR) or ssh://; other cells use the default daemon")
	fs.StringVar(&f.profile, "profile", "", "pre-push: only the cells of this machine's arch")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no live progress on stderr")
	fs.StringVar(&f.out, "out", "", "write summary.md, junit.xml and report.json into this directory")
	fs.StringVar(&f.jsonOut, "json", "", "write the JSON report to this file")
	fs.StringVar(&f.junitOut, "junit", "", "write JUnit XML to this file")
	fs.StringVar(&f.markdownOut, "markdown", "", "write the Markdown summary to this file")
	return fs, f
}

// newPlanFlags are the run flags and plan's own (the Dagger module's plan
// function takes the same).
func newPlanFlags(stderr io.Writer) (*flag.FlagSet, *runFlags) {
	fs, f := newRunFlags("plan", stderr)
	fs.IntVar(&f.shards, "shards", 0, "print, as one line of JSON a CI matrix reads, each cell's packages split into this many sets of equal recorded test time")
	fs.StringVar(&f.timings, "timings", "", "with --shards: a previous report.json whose package times balance the shards (default: split by package count)")
	return fs, f
}

// depsEnvFromHost are the variables a module download needs from the user's
// setup; they reach the deps step only, and the decisions list them.
var depsEnvFromHost = []string{"GOPROXY", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOINSECURE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// inputs reads the source's go.mod and lock file and turns the flags into
// pipeline inputs. Every error is one line that says what to fix.
func (f *runFlags) inputs() (pipeline.Inputs, error) {
	var in pipeline.Inputs
	src, err := filepath.Abs(f.source)
	if err != nil {
		return in, err
	}
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return in, fmt.Errorf("--source %s: not a directory", f.source)
	}
	f.source = src
	switch f.runtime {
	case "auto", "docker", "dagger":
	default:
		return in, fmt.Errorf("--runtime %q: want docker, dagger or auto", f.runtime)
	}
	in.GoMod, err = os.ReadFile(filepath.Join(src, "go.mod"))
	if os.IsNotExist(err) {
		return in, fmt.Errorf("%s: %w", src, pipeline.ErrNoGoMod)
	} else if err != nil {
		return in, err
	}
	lock := f.lock
	if lock == "" {
		lock = filepath.Join(src, matrix.LockFile)
		if _, err := os.Stat(lock); err != nil {
			lock = ""
		}
	}
	if lock != "" {
		if in.Lock, err = os.ReadFile(lock); err != nil {
			return in, fmt.Errorf("--lock: %w", err)
		}
		in.LockName = lock
	}
	req, err := f.request()
	if err != nil {
		return in, err
	}
	return req.Inputs(in.GoMod, in.Lock, in.LockName)
}

// request fills the options every front door shares (pipeline.Args, the
// Dagger module fills the same) and builds the request through their one
// builder; the CLI adds what it knows of its host.
func (f *runFlags) request() (pipeline.Request, error) {
	a := pipeline.Args{
		Go: []string{f.gos}, Libc: []string{f.libcs}, Arch: []string{f.arches},
		Include: []string{f.include}, Exclude: []string{f.exclude},
		Profile: f.profile, Race: f.race, Cgo: f.cgo, Ptrace: f.ptrace, SourceMode: f.sourceMode,
		Count: f.count, Shuffle: f.shuffle, Timeout: f.testTimeout, CellTimeout: f.cellTimeout,
		Packages: []string{f.packages}, Run: f.runRE, Skip: f.skipRE, Short: string(f.short),
		Tags: []string{f.tags}, Failfast: f.failfast, Compile: []string{f.compile}, TmpdirSymlink: []string{f.tmpdirSymlink},
		CellMemory: f.cellMemory, CellCPUs: f.cellCPUs, CellPids: f.cellPids, Parallel: f.parallel,
		Reruns: f.reruns, ReRunsMax: f.rerunsMax, FailOnFlaky: f.failOnFlaky, Explain: f.explain,
		CacheScope: f.cacheScope, CacheTrust: f.cacheTrust, RegistryMirror: f.mirror, DepsEnv: f.depsEnv, Goprivate: f.goprivate,
		AllowDivergence: f.allowDivergence, Revision: f.revision,
		Shard: f.shard, ShardPackages: []string{f.shardPackages},
	}
	h := pipeline.Host{Arch: goruntime.GOARCH, SourceID: sourceIdentity(f.source), MirrorFrom: "--registry-mirror", DepsEnv: map[string]string{}}
	if !f.set["registry-mirror"] {
		h.MirrorFrom = pins.MirrorEnv
	}
	if f.set["parallel"] && f.parallel < 1 {
		return pipeline.Request{}, fmt.Errorf("--parallel %d: want 1 or more cells at once (leave it out for all)", f.parallel)
	}
	if f.caBundle != "" {
		// preflight has checked the file and its content.
		ca, err := filepath.Abs(f.caBundle)
		if err != nil {
			return pipeline.Request{}, err
		}
		h.CABundle = ca
	}
	h.CI = pipeline.CI{Getenv: os.Getenv}
	if p := os.Getenv("GITHUB_EVENT_PATH"); p != "" && os.Getenv("GITHUB_ACTIONS") == "true" {
		h.CI.Event, _ = os.ReadFile(p) // unreadable: the default branch is unknown, so untrusted
	}
	for _, k := range depsEnvFromHost {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			h.DepsEnv[k] = v
		}
	}
	return a.Request(h)
}

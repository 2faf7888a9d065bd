// Parity as a Dagger module: runs a Go module's tests in hermetic containers
// across Go versions, C libraries (glibc, musl) and architectures (amd64,
// arm64), and reports the tests whose outcome depends on the platform.
//
// The constructor takes the options every function shares:
//
//	dagger call --go-version=1.27.1 --libc=glibc test --source=.
//
// This module is a thin shell: it copies its arguments into
// pipeline.Args (the options the parity command fills too) and hands them, with the files and secrets, to the root
// packages (daggerengine, pipeline), which the project builds and tests
// outside Dagger too.
package main

import (
	"context"
	"fmt"

	pub "dagger.io/dagger"

	"dagger/ci/internal/dagger"

	"github.com/parity-ci/parity/buildinfo"
	"github.com/parity-ci/parity/daggerengine"
	"github.com/parity-ci/parity/pipeline"
)

// Ci holds the options of a run, set by the constructor; test, report and
// plan use them. Private: they are state, not functions of their own.
type Ci struct {
	// +private
	Source *dagger.Directory
	// +private
	GoVersion []string
	// +private
	Libc []string
	// +private
	Arch []string
	// +private
	Include []string
	// +private
	Exclude []string
	// +private
	Profile string
	// +private
	Race string
	// +private
	Cgo string
	// +private
	Ptrace string
	// +private
	Count int
	// +private
	Shuffle string
	// +private
	Timeout string
	// +private
	CellTimeout string
	// +private
	Packages []string
	// +private
	RunPattern string
	// +private
	Skip string
	// +private
	Short string
	// +private
	Tags []string
	// +private
	Failfast bool
	// +private
	CellMemory string
	// +private
	CellCpus string
	// +private
	CellPids int
	// +private
	Parallel int
	// +private
	Reruns int
	// +private
	FailOnFlaky bool
	// +private
	Explain string
	// +private
	CacheScope string
	// +private
	CacheTrust string
	// +private
	Pins *dagger.File
	// +private
	RegistryMirror string
	// +private
	CaBundle *dagger.File
	// +private
	DepsEnv []string
	// +private
	Goprivate string
	// +private
	Netrc *dagger.Secret
	// +private
	GitToken *dagger.Secret
	// +private
	GitHost string
	// +private
	SourceMode string
	// +private
	Revision string
	// +private
	Compile []string
	// +private
	TmpdirSymlink []string
	// +private
	RerunsMax int
	// +private
	Shard string
	// +private
	ShardPackages []string
}

func New(
	// The Go module to test (the directory holding go.mod). test, report and plan take --source too.
	// +defaultPath="/"
	// +ignore=[".git", "parity-report"]
	source *dagger.Directory,
	// Go versions, e.g. 1.27.1 (default: every pinned version). Named go-version because go is a Go keyword.
	// +optional
	goVersion []string,
	// C libraries: glibc, musl (default: both).
	// +optional
	libc []string,
	// Architectures: amd64, arm64 (default: both).
	// +optional
	arch []string,
	// Extra cells, e.g. 1.26.8/musl/arm64.
	// +optional
	include []string,
	// Cells to leave out; * matches anything, e.g. */musl/arm64.
	// +optional
	exclude []string,
	// pre-push: only the cells of the engine's arch, with -short.
	// +optional
	profile string,
	// -race: auto (on wherever it can work), on, off.
	// +optional
	// +default="auto"
	race string,
	// CGO_ENABLED in every cell: auto (1), on, off.
	// +optional
	// +default="auto"
	cgo string,
	// off, children (default on Dagger) or attach (all capabilities and no seccomp on Dagger: flagged).
	// +optional
	ptrace string,
	// go test -count.
	// +optional
	count int,
	// go test -shuffle: on, off or a seed.
	// +optional
	shuffle string,
	// go test -timeout, e.g. 10m.
	// +optional
	timeout string,
	// Stop a cell after this long, e.g. 30m.
	// +optional
	cellTimeout string,
	// Packages to test.
	// +optional
	// +default=["./..."]
	packages []string,
	// go test -run.
	// +optional
	run string,
	// go test -skip.
	// +optional
	skip string,
	// go test -short: auto (on with the pre-push profile), on, off.
	// +optional
	short string,
	// go test -tags.
	// +optional
	tags []string,
	// go test -failfast.
	// +optional
	failfast bool,
	// Memory of each cell, e.g. 2GiB (default: derived from the host).
	// +optional
	cellMemory string,
	// Cores of each cell, e.g. 1.5 (default: derived from the host).
	// +optional
	cellCpus string,
	// Processes and threads of each cell (default: derived from the host).
	// +optional
	cellPids int,
	// Cells at once (default: all).
	// +optional
	parallel int,
	// Re-run each failing or divergent test this many more times in every cell where it ran, to tell flaky from divergent.
	// +optional
	// +default=2
	reruns int,
	// Fail the verdict on flaky tests too.
	// +optional
	failOnFlaky bool,
	// Prove the cause of each divergent test by experiment: auto (when at most 10 diverge), on, off.
	// +optional
	// +default="auto"
	explain string,
	// Prefix of the cache volume names (default: one per project).
	// +optional
	cacheScope string,
	// trusted: this call may write the caches later calls read (the default branch); untrusted: pull requests, forks; auto: trusted (the engine sees no CI environment).
	// +optional
	// +default="auto"
	cacheTrust string,
	// Image pins, a parity.lock.json (default: the source's, else the built-in pins). Named pins: --lock is the Dagger CLI's own flag.
	// +optional
	pins *dagger.File,
	// Fetch images, and the indexes read to pick each platform's manifest, through this mirror (host[:port][/path]).
	// +optional
	registryMirror string,
	// Extra CA certificates for the module download step (a TLS-intercepting proxy's, a private proxy's).
	// +optional
	caBundle *dagger.File,
	// KEY=VALUE variables for the module download step only, e.g. GOPROXY=https://proxy.corp.example.
	// +optional
	depsEnv []string,
	// GOPRIVATE for the module download step (its commas would split a --deps-env list).
	// +optional
	goprivate string,
	// A .netrc for private modules, read by the go command in the download step only.
	// +optional
	netrc *dagger.Secret,
	// A token for private modules fetched with git, offered to --git-host only, in the download step only.
	// +optional
	gitToken *dagger.Secret,
	// The host --git-token is for.
	// +optional
	// +default="github.com"
	gitHost string,
	// readonly, or copy: tests run in a writable scratch copy of the module (go.mod and go.sum stay read-only).
	// +optional
	// +default="readonly"
	sourceMode string,
	// Also build every test package for these GOOS/GOARCH targets without running them, e.g. windows/amd64.
	// +optional
	compile []string,
	// Cells whose TMPDIR is reached through a symlink, as on macOS (/var -> /private/var): all, or cells such as */*/amd64.
	// +optional
	tmpdirSymlink []string,
	// Re-run a test at most this many times per cell while its pass/fail counts cannot tell flaky from divergent.
	// +optional
	// +default=10
	rerunsMax int,
	// The source's VCS revision, recorded in the report; merge refuses reports of different revisions. In GitHub Actions: --revision=$GITHUB_SHA.
	// +optional
	revision string,
	// Run one shard of each cell's packages, I/N as plan --shards prints it; the report records it and merge folds the shards.
	// +optional
	shard string,
	// The packages of that shard, as plan --shards prints them (go test gets these; --packages stays the cells' whole patterns).
	// +optional
	shardPackages []string,
) *Ci {
	return &Ci{
		Source: source, GoVersion: goVersion, Libc: libc, Arch: arch, Include: include, Exclude: exclude,
		Profile: profile, Race: race, Cgo: cgo, Ptrace: ptrace, Count: count,
		Shuffle: shuffle, Timeout: timeout, CellTimeout: cellTimeout, Packages: packages,
		RunPattern: run, Skip: skip, Short: short, Tags: tags, Failfast: failfast,
		CellMemory: cellMemory, CellCpus: cellCpus, CellPids: cellPids, Parallel: parallel,
		Reruns: reruns, FailOnFlaky: failOnFlaky, Explain: explain,
		CacheScope: cacheScope, CacheTrust: cacheTrust, Pins: pins, RegistryMirror: registryMirror, CaBundle: caBundle,
		DepsEnv: depsEnv, Goprivate: goprivate, Netrc: netrc, GitToken: gitToken, GitHost: gitHost,
		SourceMode: sourceMode, Revision: revision, Compile: compile, RerunsMax: rerunsMax,
		TmpdirSymlink: tmpdirSymlink, Shard: shard, ShardPackages: shardPackages,
	}
}

// Run the matrix and print the verdict.
//
// Fails when any test fails, any cell cannot run, or (unless
// allowDivergence) any test diverges between cells: the error's first line
// is "parity: the verdict is red: ...", while bad input fails with
// "parity: bad input: ...". Never replayed whole from the function cache:
// each call runs the matrix, and the engine replays only the steps whose
// inputs did not change (the report marks them cached); failed steps are
// never replayed.
//
// +cache="never"
func (m *Ci) Test(
	ctx context.Context,
	// The Go module to test, instead of the constructor's --source.
	// +optional
	// +ignore=[".git", "parity-report"]
	source *dagger.Directory,
	// Do not fail on divergent tests alone.
	// +optional
	allowDivergence bool,
) (string, error) {
	e, args, err := m.engine(ctx, source, allowDivergence)
	if err != nil {
		return "", err
	}
	rep, err := e.Run(ctx, args)
	if err != nil {
		return "", failure(err)
	}
	summary := daggerengine.Summary(rep)
	if err := daggerengine.VerdictError(rep.Verdict(allowDivergence), summary); err != nil {
		return "", err
	}
	return summary, nil
}

// Run the matrix and return summary.md, junit.xml and report.json.
//
// Returns the reports whatever the verdict: `dagger call report --source=.
// -o ./parity-report`, then `jq -e .verdict.ok parity-report/report.json`.
//
// +cache="never"
func (m *Ci) Report(
	ctx context.Context,
	// The Go module to test, instead of the constructor's --source.
	// +optional
	// +ignore=[".git", "parity-report"]
	source *dagger.Directory,
	// Record a verdict that divergent tests alone do not fail.
	// +optional
	allowDivergence bool,
) (*dagger.Directory, error) {
	e, args, err := m.engine(ctx, source, allowDivergence)
	if err != nil {
		return nil, err
	}
	rep, err := e.Run(ctx, args)
	if err != nil {
		return nil, failure(err)
	}
	dir, err := e.ReportDir(rep)
	if err != nil {
		return nil, failure(err)
	}
	id, err := dir.ID(ctx)
	if err != nil {
		return nil, failure(err)
	}
	return dag.LoadDirectoryFromID(dagger.DirectoryID(id)), nil
}

// Print the cells, their pinned images and every policy decision.
//
// Runs nothing. With --shards N it prints instead, as one line of JSON a CI
// matrix reads, each cell's packages split into N sets of equal recorded
// test time (from --timings, a previous report.json; by package count
// without one).
//
// +cache="never"
func (m *Ci) Plan(
	ctx context.Context,
	// The Go module to plan for, instead of the constructor's --source.
	// +optional
	// +ignore=[".git", "parity-report"]
	source *dagger.Directory,
	// Split each cell's packages into this many shards and print them as JSON.
	// +optional
	shards int,
	// A previous report.json whose package times balance the shards.
	// +optional
	timings *dagger.File,
) (string, error) {
	e, args, err := m.engine(ctx, source, false)
	if err != nil {
		return "", err
	}
	if shards != 0 || timings != nil {
		t, err := loadFile(ctx, e.Client(), timings)
		if err != nil {
			return "", err
		}
		out, err := e.ShardsJSON(ctx, args, shards, t)
		if err != nil {
			return "", failure(err)
		}
		return out, nil
	}
	out, err := e.PlanText(ctx, args)
	if err != nil {
		return "", failure(err)
	}
	return out, nil
}

// Run the matrix with the constructor's options, as a check.
//
// `dagger check` runs it and fails with the verdict's one-line summary
// when the verdict is red (Dagger does not show a check's per-test
// results: run test or report for those).
//
// +check
// +cache="never"
func (m *Ci) Check(ctx context.Context) error {
	e, args, err := m.engine(ctx, nil, false)
	if err != nil {
		return err
	}
	rep, err := e.Run(ctx, args)
	if err != nil {
		return failure(err)
	}
	return daggerengine.CheckError(rep)
}

// engine joins this function's session through the published SDK and binds
// the run's directory, files and secrets to it by ID.
func (m *Ci) engine(ctx context.Context, source *dagger.Directory, allowDivergence bool) (*daggerengine.Engine, pipeline.Args, error) {
	if source == nil {
		source = m.Source
	}
	args := pipeline.Args{
		Go: m.GoVersion, Libc: m.Libc, Arch: m.Arch, Include: m.Include, Exclude: m.Exclude,
		Profile: m.Profile, Race: m.Race, Cgo: m.Cgo, Ptrace: m.Ptrace, SourceMode: m.SourceMode,
		Count: m.Count, Shuffle: m.Shuffle, Timeout: m.Timeout, CellTimeout: m.CellTimeout,
		Packages: m.Packages, Run: m.RunPattern, Skip: m.Skip, Short: m.Short, Tags: m.Tags, Failfast: m.Failfast,
		CellMemory: m.CellMemory, CellCPUs: m.CellCpus, CellPids: m.CellPids, Parallel: m.Parallel,
		Reruns: m.Reruns, FailOnFlaky: m.FailOnFlaky, Explain: m.Explain,
		CacheScope: m.CacheScope, CacheTrust: m.CacheTrust, RegistryMirror: m.RegistryMirror, DepsEnv: m.DepsEnv, Goprivate: m.Goprivate,
		AllowDivergence: allowDivergence, Revision: m.Revision, Compile: m.Compile, ReRunsMax: m.RerunsMax,
		TmpdirSymlink: m.TmpdirSymlink, Shard: m.Shard, ShardPackages: m.ShardPackages,
	}
	c, err := pub.Connect(ctx)
	if err != nil {
		return nil, args, fmt.Errorf("parity: connect to the session: %w", err)
	}
	opt := daggerengine.Options{GitHost: m.GitHost, RegistryMirror: m.RegistryMirror}
	// The engine builds this module without its VCS data, so the build info
	// rarely knows a version: name the module's source by its digest then.
	digest, _ := dag.CurrentModule().Source().Digest(ctx)
	opt.Version = daggerengine.ModuleVersion(buildinfo.Version(), digest)
	if opt.Source, err = loadDirectory(ctx, c, source); err != nil {
		return nil, args, err
	}
	if opt.Lock, err = loadFile(ctx, c, m.Pins); err != nil {
		return nil, args, err
	}
	if opt.CABundle, err = loadFile(ctx, c, m.CaBundle); err != nil {
		return nil, args, err
	}
	if opt.Netrc, err = loadSecret(ctx, c, m.Netrc); err != nil {
		return nil, args, err
	}
	if opt.GitToken, err = loadSecret(ctx, c, m.GitToken); err != nil {
		return nil, args, err
	}
	e, err := daggerengine.New(ctx, c, opt)
	if err != nil {
		return nil, args, failure(err)
	}
	return e, args, nil
}

func loadDirectory(ctx context.Context, c *pub.Client, d *dagger.Directory) (*pub.Directory, error) {
	id, err := d.ID(ctx)
	if err != nil {
		return nil, fmt.Errorf("parity: source: %w", err)
	}
	return c.LoadDirectoryFromID(pub.DirectoryID(id)), nil
}

func loadFile(ctx context.Context, c *pub.Client, f *dagger.File) (*pub.File, error) {
	if f == nil {
		return nil, nil
	}
	id, err := f.ID(ctx)
	if err != nil {
		return nil, fmt.Errorf("parity: file: %w", err)
	}
	return c.LoadFileFromID(pub.FileID(id)), nil
}

func loadSecret(ctx context.Context, c *pub.Client, s *dagger.Secret) (*pub.Secret, error) {
	if s == nil {
		return nil, nil
	}
	id, err := s.ID(ctx)
	if err != nil {
		return nil, fmt.Errorf("parity: secret: %w", err)
	}
	return c.LoadSecretFromID(pub.SecretID(id)), nil
}

// failure keeps a bad-input error's first line and marks any other as
// Parity's own failure.
func failure(err error) error {
	if daggerengine.IsBadInput(err) {
		return err
	}
	return fmt.Errorf("parity: %w", err)
}

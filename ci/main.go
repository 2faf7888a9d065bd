// Parity as a Dagger module: runs a Go module's tests in hermetic containers
// across Go versions, C libraries (glibc, musl) and architectures (amd64,
// arm64), and reports the tests whose outcome depends on the platform.
//
// This module is a thin shell: every function hands its arguments to the
// root packages (daggerengine, pipeline), which the project builds and tests
// outside Dagger too.
package main

import (
	"context"
	"fmt"

	pub "dagger.io/dagger"

	"dagger/ci/internal/dagger"

	"github.com/parity-ci/parity/daggerengine"
	"github.com/parity-ci/parity/pipeline"
)

type Ci struct{}

// engine joins this function's session through the published SDK and binds
// the source directory to it.
func engine(ctx context.Context, source *dagger.Directory) (*daggerengine.Engine, error) {
	id, err := source.ID(ctx)
	if err != nil {
		return nil, err
	}
	c, err := pub.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to the session: %w", err)
	}
	return daggerengine.New(ctx, c, c.LoadDirectoryFromID(pub.DirectoryID(id)))
}

// Run the matrix and print the verdict; fails when any test fails, any cell
// cannot run, or (unless allowDivergence) any test diverges between cells.
func (m *Ci) Test(
	ctx context.Context,
	// The Go module to test (the directory holding go.mod).
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
	// Do not fail on divergent tests alone.
	// +optional
	allowDivergence bool,
) (string, error) {
	e, err := engine(ctx, source)
	if err != nil {
		return "", err
	}
	req := request(goVersion, libc, arch, include, exclude, race, cgo, ptrace, count, shuffle, timeout, cellTimeout, packages, run)
	req.AllowDivergence = allowDivergence
	rep, err := e.Run(ctx, req)
	if err != nil {
		return "", err
	}
	summary := daggerengine.Summary(rep)
	if v := rep.Verdict(allowDivergence); !v.OK {
		return "", fmt.Errorf("%s\nparity: the verdict is red", summary)
	}
	return summary, nil
}

// Run the matrix and return summary.md, junit.xml and report.json, whatever
// the outcome: `dagger call report --source=. -o ./parity-report`.
func (m *Ci) Report(
	ctx context.Context,
	// +defaultPath="/"
	// +ignore=[".git", "parity-report"]
	source *dagger.Directory,
	// +optional
	goVersion []string,
	// +optional
	libc []string,
	// +optional
	arch []string,
	// +optional
	include []string,
	// +optional
	exclude []string,
	// +optional
	// +default="auto"
	race string,
	// +optional
	// +default="auto"
	cgo string,
	// +optional
	ptrace string,
	// +optional
	count int,
	// +optional
	shuffle string,
	// +optional
	timeout string,
	// +optional
	cellTimeout string,
	// +optional
	// +default=["./..."]
	packages []string,
	// +optional
	run string,
	// Record a verdict that divergent tests alone do not fail.
	// +optional
	allowDivergence bool,
) (*dagger.Directory, error) {
	e, err := engine(ctx, source)
	if err != nil {
		return nil, err
	}
	req := request(goVersion, libc, arch, include, exclude, race, cgo, ptrace, count, shuffle, timeout, cellTimeout, packages, run)
	req.AllowDivergence = allowDivergence
	rep, err := e.Run(ctx, req)
	if err != nil {
		return nil, err
	}
	dir, err := e.ReportDir(rep)
	if err != nil {
		return nil, err
	}
	id, err := dir.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadDirectoryFromID(dagger.DirectoryID(id)), nil
}

// Print the cells, their pinned images and every policy decision, without
// running anything.
func (m *Ci) Plan(
	ctx context.Context,
	// +defaultPath="/"
	// +ignore=[".git", "parity-report"]
	source *dagger.Directory,
	// +optional
	goVersion []string,
	// +optional
	libc []string,
	// +optional
	arch []string,
	// +optional
	include []string,
	// +optional
	exclude []string,
	// +optional
	// +default="auto"
	race string,
	// +optional
	// +default="auto"
	cgo string,
	// +optional
	ptrace string,
) (string, error) {
	e, err := engine(ctx, source)
	if err != nil {
		return "", err
	}
	return e.PlanText(ctx, request(goVersion, libc, arch, include, exclude, race, cgo, ptrace, 0, "", "", "", nil, ""))
}

func request(gos, libc, arch, include, exclude []string, race, cgo, ptrace string, count int, shuffle, timeout, cellTimeout string, packages []string, run string) pipeline.Request {
	return pipeline.Request{
		Go: gos, Libc: libc, Arch: arch, Include: include, Exclude: exclude,
		Race: race, Cgo: cgo, Ptrace: ptrace, Count: count, Shuffle: shuffle,
		Timeout: timeout, CellTimeout: cellTimeout, Packages: packages, Run: run,
	}
}

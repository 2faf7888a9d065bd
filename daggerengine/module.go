package daggerengine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing/fstest"

	"dagger.io/dagger"

	"github.com/parity-ci/parity/buildinfo"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/render"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// Plan reads go.mod and the lock file, checks the arguments and plans every
// cell for this engine. It is what the module's `plan` prints, and the
// first half of Run. Every error of the caller's making is BadInput.
func (e *Engine) Plan(ctx context.Context, a pipeline.Args) (pipeline.Plan, pipeline.Inputs, error) {
	p, in, _, err := e.plan(ctx, a)
	return p, in, err
}

// plan is Plan, also returning go.sum as it read it (nil when the source
// has none), so Run does not read it again.
func (e *Engine) plan(ctx context.Context, a pipeline.Args) (pipeline.Plan, pipeline.Inputs, []byte, error) {
	var none pipeline.Inputs
	goMod, err := readOptional(ctx, e.opt.Source, "go.mod")
	if err != nil {
		return pipeline.Plan{}, none, nil, err
	}
	if goMod == nil {
		return pipeline.Plan{}, none, nil, BadInput(pipeline.ErrNoGoMod)
	}
	goSum, err := readOptional(ctx, e.opt.Source, "go.sum")
	if err != nil {
		return pipeline.Plan{}, none, nil, err
	}
	if err := e.checkSource(ctx, goMod, goSum); err != nil {
		return pipeline.Plan{}, none, nil, err
	}
	h := pipeline.Host{Arch: string(e.native), SourceID: SourceID, MirrorFrom: "--registry-mirror"}
	if e.opt.CABundle != nil {
		name, err := e.opt.CABundle.Name(ctx)
		if err != nil {
			return pipeline.Plan{}, none, nil, fmt.Errorf("--ca-bundle: %w", err)
		}
		data, err := e.opt.CABundle.Contents(ctx)
		if err != nil {
			return pipeline.Plan{}, none, nil, fmt.Errorf("--ca-bundle %s: %w", name, err)
		}
		if err := pipeline.CheckCABundle("--ca-bundle "+name, []byte(data)); err != nil {
			return pipeline.Plan{}, none, nil, BadInput(err)
		}
		h.CABundle = caBundleFile
	}
	req, err := a.Request(h)
	if err != nil {
		return pipeline.Plan{}, none, nil, BadInput(err)
	}
	lock, lockName, err := e.lock(ctx)
	if err != nil {
		return pipeline.Plan{}, none, nil, err
	}
	in, err := req.Inputs(goMod, lock, lockName)
	if err != nil {
		return pipeline.Plan{}, in, nil, BadInput(err)
	}
	in.Policy.DepsSecrets = e.credentials().names()
	p, err := pipeline.MakePlan(in, e.Traits())
	if err != nil {
		return p, in, nil, BadInput(err)
	}
	return p, in, goSum, nil
}

// checkSource runs the CLI's source checks (pipeline.CheckSource: go.sum,
// vendor/, a module with no package) on what they read of the source: its
// go.mod, go.sum, vendor/modules.txt and the names of its Go files and
// nested modules, without copying the whole tree out of the engine.
// File modes are not known here: the mounts decide who can read them.
func (e *Engine) checkSource(ctx context.Context, goMod, goSum []byte) error {
	fsys := fstest.MapFS{"go.mod": {Data: goMod, Mode: 0o644}}
	if goSum != nil {
		fsys["go.sum"] = &fstest.MapFile{Data: goSum, Mode: 0o644}
	}
	for _, pattern := range []string{"**/*.go", "**/go.mod"} {
		names, err := e.opt.Source.Glob(ctx, pattern)
		if err != nil {
			return fmt.Errorf("read source: %w", err)
		}
		for _, n := range names {
			if _, ok := fsys[n]; !ok {
				fsys[n] = &fstest.MapFile{Mode: 0o644}
			}
		}
	}
	if vendor, err := readOptional(ctx, e.opt.Source.Directory("vendor"), "modules.txt"); err == nil && vendor != nil {
		fsys["vendor/modules.txt"] = &fstest.MapFile{Data: vendor, Mode: 0o644}
	}
	return BadInput(pipeline.CheckSource(fsys, "--source", "."))
}

// lock is the --pins File, else the source's parity.lock.json, else none.
func (e *Engine) lock(ctx context.Context) ([]byte, string, error) {
	if e.opt.Lock == nil {
		b, err := readOptional(ctx, e.opt.Source, matrix.LockFile)
		return b, matrix.LockFile, err
	}
	name, err := e.opt.Lock.Name(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("--pins: %w", err)
	}
	s, err := e.opt.Lock.Contents(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("--pins %s: %w", name, err)
	}
	if strings.TrimSpace(s) == "" {
		return nil, "", BadInput(fmt.Errorf("--pins %s: empty file", name))
	}
	return []byte(s), "--pins " + name, nil
}

// Run plans and runs every cell in this session and returns the report.
func (e *Engine) Run(ctx context.Context, a pipeline.Args) (report.Report, error) {
	// go.sum's digest lets reports made elsewhere (the CLI, other machines)
	// merge with this one only when they tested the same dependencies.
	p, in, goSum, err := e.plan(ctx, a)
	if err != nil {
		return report.Report{}, err
	}
	version := e.opt.Version
	if version == "" {
		version = buildinfo.Version()
	}
	// The tree's digest tells reports of different sources apart where the
	// revision is not given (the engine sees no .git).
	tree, err := e.opt.Source.Digest(ctx)
	if err != nil {
		return report.Report{}, fmt.Errorf("digest the source: %w", err)
	}
	rep := pipeline.Execute(ctx, p, e, runner.Options{Parallel: a.Parallel}, pipeline.Meta{
		Tool: "parity", Version: version, GoSum: pipeline.Digest(goSum), Revision: a.Revision, Tree: "dagger:" + tree,
		Options: in.Policy, AllowDivergence: a.AllowDivergence,
	})
	rep.Shard = in.Shard
	return rep, nil
}

// ShardsJSON is `parity plan --shards N [--timings report.json]`: the
// packages of every cell split into at most n balanced sets, as one line
// of JSON a CI matrix reads. The source's Go files are read through the
// engine (their build constraints decide which packages each cell has).
func (e *Engine) ShardsJSON(ctx context.Context, a pipeline.Args, n int, timings *dagger.File) (string, error) {
	p, in, err := e.Plan(ctx, a)
	if err != nil {
		return "", err
	}
	o := pipeline.ShardOptions{N: n, Patterns: in.Policy.Packages, Tags: in.Policy.Tags}
	if timings != nil {
		s, err := timings.Contents(ctx)
		if err != nil {
			return "", fmt.Errorf("--timings: %w", err)
		}
		rep, err := report.Read(strings.NewReader(s))
		if err != nil {
			return "", BadInput(fmt.Errorf("--timings: %w", err))
		}
		o.Timings = &rep
	}
	src, err := e.goFiles(ctx)
	if err != nil {
		return "", err
	}
	o.Packages = func(t pipeline.BuildTarget) ([]pipeline.SourcePackage, error) {
		return pipeline.FindPackages(src, in.Policy.Packages, t)
	}
	m, err := pipeline.PlanShards(p, o)
	if err != nil {
		return "", BadInput(err)
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// goFiles is the source's Go files and nested go.mod files, read through
// the engine, skipping what go test never reads (testdata, vendor, names
// starting with . or _).
func (e *Engine) goFiles(ctx context.Context) (fstest.MapFS, error) {
	fsys := fstest.MapFS{}
	for _, pattern := range []string{"**/*.go", "**/go.mod"} {
		names, err := e.opt.Source.Glob(ctx, pattern)
		if err != nil {
			return nil, fmt.Errorf("read source: %w", err)
		}
		for _, n := range names {
			if skipped(n) {
				continue
			}
			f := &fstest.MapFile{Mode: 0o644}
			if strings.HasSuffix(n, ".go") {
				s, err := e.opt.Source.File(n).Contents(ctx)
				if err != nil {
					return nil, fmt.Errorf("read %s: %w", n, err)
				}
				f.Data = []byte(s)
			}
			fsys[n] = f
		}
	}
	return fsys, nil
}

// skipped reports whether go test ./... never looks under a path's
// directories: testdata, vendor, names starting with . or _.
func skipped(name string) bool {
	dirs := strings.Split(name, "/")
	for _, d := range dirs[:len(dirs)-1] {
		if d == "testdata" || d == "vendor" || strings.HasPrefix(d, ".") || strings.HasPrefix(d, "_") {
			return true
		}
	}
	return false
}

// PlanText is the plan as `parity plan` prints it.
func (e *Engine) PlanText(ctx context.Context, a pipeline.Args) (string, error) {
	p, _, err := e.Plan(ctx, a)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = pipeline.WritePlan(&b, p, e.Traits())
	return b.String(), err
}

// Summary is the terminal summary of a report.
func Summary(rep report.Report) string {
	var b strings.Builder
	render.Terminal(&b, rep, render.TerminalOptions{})
	return b.String()
}

// ReportDir holds summary.md, junit.xml and report.json.
func (e *Engine) ReportDir(rep report.Report) (*dagger.Directory, error) {
	var js, junit, md bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		return nil, err
	}
	if err := render.JUnit(&junit, rep); err != nil {
		return nil, err
	}
	if err := render.Markdown(&md, rep); err != nil {
		return nil, err
	}
	return e.c.Directory().
		WithNewFile("report.json", js.String()).
		WithNewFile("junit.xml", junit.String()).
		WithNewFile("summary.md", md.String()), nil
}

// readOptional returns a file's content, or nil when src has no such file.
func readOptional(ctx context.Context, src *dagger.Directory, name string) ([]byte, error) {
	entries, err := src.Entries(ctx)
	if err != nil {
		return nil, fmt.Errorf("read source: %w", err)
	}
	for _, e := range entries {
		if e == name {
			s, err := src.File(name).Contents(ctx)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			return []byte(s), nil
		}
	}
	return nil, nil
}

// ModuleVersion is the version reports name for the Dagger module: the
// build's own when it knows one, else "dev+" and the first 12 hex digits of
// the module source's digest, so a report still says which source made it.
func ModuleVersion(build, sourceDigest string) string {
	if build != "dev" {
		return build
	}
	d := strings.TrimPrefix(sourceDigest, "sha256:")
	if len(d) < 12 {
		return build
	}
	return "dev+" + d[:12]
}

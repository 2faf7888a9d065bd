package daggerengine

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"dagger.io/dagger"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/render"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// Version is the Parity version the module reports.
var Version = "dev"

// Plan reads go.mod and the lock file from src and plans every cell for
// this engine. It is what the module's `plan` prints, and the first half of
// Run.
func (e *Engine) Plan(ctx context.Context, req pipeline.Request) (pipeline.Plan, pipeline.Inputs, error) {
	goMod, err := readOptional(ctx, e.src, "go.mod")
	if err != nil {
		return pipeline.Plan{}, pipeline.Inputs{}, err
	}
	if goMod == nil {
		return pipeline.Plan{}, pipeline.Inputs{}, pipeline.ErrNoGoMod
	}
	lock, err := readOptional(ctx, e.src, matrix.LockFile)
	if err != nil {
		return pipeline.Plan{}, pipeline.Inputs{}, err
	}
	in, err := req.Inputs(goMod, lock, matrix.LockFile)
	if err != nil {
		return pipeline.Plan{}, in, err
	}
	p, err := pipeline.MakePlan(in, e.Traits())
	return p, in, err
}

// Run plans and runs every cell in this session and returns the report.
func (e *Engine) Run(ctx context.Context, req pipeline.Request) (report.Report, error) {
	p, in, err := e.Plan(ctx, req)
	if err != nil {
		return report.Report{}, err
	}
	return pipeline.Execute(ctx, p, e, runner.Options{}, pipeline.Meta{Tool: "parity", Version: Version, Options: in.Policy, AllowDivergence: req.AllowDivergence}), nil
}

// PlanText is the plan as `parity plan` prints it.
func (e *Engine) PlanText(ctx context.Context, req pipeline.Request) (string, error) {
	p, _, err := e.Plan(ctx, req)
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

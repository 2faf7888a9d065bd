package pipeline

import (
	"context"
	"time"

	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// Meta is what the caller adds to the report: who ran it and on what.
type Meta struct {
	Tool, Version   string
	Revision        string // VCS revision of the source, when known
	Dir             string // the module's directory within its repository
	Options         policies.Options
	AllowDivergence bool
}

// Execute runs every planned cell and builds the report. It always returns
// a report, even when cells fail or ctx is cancelled midway: each cell's
// result says what happened to it.
func Execute(ctx context.Context, p Plan, rt runner.Runtime, opt runner.Options, m Meta) report.Report {
	results := runner.Run(ctx, rt, p.Specs, opt)
	return report.Build(reportMeta(p, m), results)
}

func reportMeta(p Plan, m Meta) report.Meta {
	o := m.Options
	ro := report.Options{
		Packages: o.Packages, Race: string(o.Race), Count: o.Count, Shuffle: o.Shuffle, Run: o.Run,
		AllowDivergence: m.AllowDivergence,
	}
	if len(ro.Packages) == 0 {
		ro.Packages = []string{"./..."}
	}
	if o.TestTimeout > 0 {
		ro.Timeout = o.TestTimeout.String()
	}
	ro.Extra = map[string]string{"pins": p.Pins}
	if o.Cgo != "" {
		ro.Extra["cgo"] = string(o.Cgo)
	}
	if o.Ptrace != "" {
		ro.Extra["ptrace"] = string(o.Ptrace)
	}
	return report.Meta{
		Tool:      report.Tool{Name: m.Tool, Version: m.Version},
		CreatedAt: time.Now().UTC(),
		Source:    report.Source{Module: p.Module, GoLine: p.GoLine, Revision: m.Revision, Dir: m.Dir},
		Options:   ro,
	}
}

package calibration

import (
	"context"
	"fmt"
	"slices"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/recheck"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// Setup is how a scenario runs Parity: its options as a user gives them.
type Setup struct {
	Reruns, RerunsMax int
	Explain           string // auto, on, off
	// Cells keeps only these cells of the default matrix (nil: all eight).
	Cells []matrix.Cell
}

// Defaults are `parity test`'s: --reruns 2 --reruns-max 10 --explain auto.
var Defaults = Setup{Reruns: 2, RerunsMax: 10, Explain: "auto"}

// plan is the real plan of the default matrix for a module of one
// package, with every step but the test step left out (the simulated
// runtime has no images to set up, probe or fill a module cache in).
func (s Setup) plan() (pipeline.Plan, error) {
	mode, err := recheck.ParseExplain(s.Explain)
	if err != nil {
		return pipeline.Plan{}, err
	}
	in := pipeline.Inputs{
		GoMod:   []byte("module example.com/sim\n\ngo 1.26\n"),
		Only:    s.Cells,
		Recheck: pipeline.Recheck{Reruns: s.Reruns, RerunsMax: max(s.Reruns, s.RerunsMax), Explain: mode},
	}
	traits := policies.Traits{Name: "docker", ReadOnlyRootfs: true, SingleCapability: true, NetworkPerStep: true,
		NoNewPrivileges: true, ReadOnlyCaches: true, SeccompProfile: true, ResourceLimits: true, UserTmpfs: true,
		NativeArch: matrix.AMD64, HostMemoryBytes: 24 << 30, HostCPUs: 2}
	p, err := pipeline.MakePlan(in, traits)
	if err != nil {
		return pipeline.Plan{}, err
	}
	for i := range p.Specs {
		p.Specs[i].Steps = slices.DeleteFunc(p.Specs[i].Steps, func(st job.Step) bool { return st.Name != job.StepTest })
	}
	return p, nil
}

func meta(p pipeline.Plan) pipeline.Meta {
	return pipeline.Meta{Tool: "parity", Version: "calibration", Options: policies.Options{Packages: []string{"./..."}}}
}

// together runs the trial as one `parity test` over every cell.
func together(ctx context.Context, p pipeline.Plan, w World) report.Report {
	return pipeline.Execute(ctx, p, simRuntime{w}, runner.Options{Parallel: len(p.Specs)}, meta(p))
}

// apart runs the trial as one job per cell, then as the merge flow does
// (parity merge, parity recheck, parity merge): merge the reports; while
// the merged report has work (recheck.Work), let each cell with work make
// it from that merged report, as a job of its own would (pipeline.RecheckMerged),
// and fold every cell's runs in.
func apart(ctx context.Context, p pipeline.Plan, w World) (report.Report, error) {
	var reps []report.Report
	for _, s := range p.Specs {
		one := p
		one.Specs = []job.Spec{s}
		reps = append(reps, pipeline.Execute(ctx, one, simRuntime{w}, runner.Options{Parallel: 1}, meta(one)))
	}
	merged, err := report.Merge(reps...)
	if err != nil {
		return report.Report{}, err
	}
	for range 10 {
		cells := recheck.Work(merged).Cells()
		if len(cells) == 0 {
			return merged, nil
		}
		var all []report.RerunOf
		for _, c := range cells {
			_, recs, err := pipeline.RecheckMerged(ctx, merged, p, simRuntime{w}, runner.Options{Parallel: 1}, []string{c})
			if err != nil {
				return report.Report{}, err
			}
			all = append(all, recs...)
		}
		if merged, err = report.AddReruns(merged, all); err != nil {
			return report.Report{}, err
		}
	}
	return report.Report{}, fmt.Errorf("apart: still work after 10 merges")
}

// rowOf is the named test's row in the simulated package.
func rowOf(r report.Report, test string) (report.TestRow, bool) {
	for _, row := range r.Tests {
		if row.Package == Package && row.Test == test {
			return row, true
		}
	}
	return report.TestRow{}, false
}

// screened reports whether the row failed somewhere in the first run:
// only such a row is re-run and can be given a word at all.
func screened(row report.TestRow) bool {
	for _, res := range row.Results {
		if slices.ContainsFunc(firstOutcomes(res), func(o string) bool { return o != "pass" && o != "skip" }) {
			return true
		}
	}
	return false
}

func firstOutcomes(res report.Result) []string {
	if len(res.Runs) == 0 {
		return []string{string(res.Outcome)}
	}
	out := make([]string, len(res.Runs))
	for i, o := range res.Runs {
		out[i] = string(o)
	}
	return out
}

// label is a row's word: what the report calls it.
func label(row report.TestRow) string {
	switch {
	case row.Divergent:
		return "divergent"
	case row.OrderDependent:
		return "order-dependent"
	case row.Failed:
		return "failing"
	case row.Flaky:
		return "flaky"
	}
	return "passing"
}

// culpritNamed returns the sibling a row's bisection named, if any.
func culpritNamed(row report.TestRow) (string, bool) {
	for _, d := range row.Decisions {
		if d.Claim == "culprit" && d.Holds {
			return d.Subject, true
		}
	}
	return "", false
}

// aloneRunsPerCell is the most alone re-runs the row made in one cell.
func aloneRunsPerCell(row report.TestRow) int {
	n := 0
	for _, res := range row.Results {
		k := 0
		for _, r := range res.Reruns {
			if r.Kind == report.RunAlone {
				k++
			}
		}
		n = max(n, k)
	}
	return n
}

// runsPerCell counts every re-run the report made per compared cell, of
// any kind, on average over the cells.
func runsPerCell(r report.Report) float64 {
	cells := map[string]int{}
	for _, c := range r.Cells {
		cells[c.Name] = 0
	}
	for _, row := range r.Tests {
		for _, res := range row.Results {
			cells[res.Cell] += len(res.Reruns)
		}
	}
	total := 0
	for _, n := range cells {
		total += n
	}
	return float64(total) / float64(max(len(cells), 1))
}

package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/progress"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// cmdRecheck is `parity recheck --plan FILE`: a merge's recheck stage. It
// makes, in its cells, every run the plan's merged report asks of them,
// and writes them to --out DIR/recheck.json for the next parity merge.
func cmdRecheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newRunFlags("recheck", stderr)
	planPath := fs.String("plan", "", "the recheck plan `parity merge --plan FILE` wrote (required)")
	cellList := fs.String("cell", "", "make only these cells' share: GO/LIBC/ARCH, comma-separated (default: every cell of the plan with work)")
	var err error
	if f.set, err = parseFlags(fs, args, stdout); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("recheck: unexpected arguments %q (flags only)", fs.Args())
	}
	if *planPath == "" {
		return fmt.Errorf("recheck: --plan FILE is required (parity merge --plan FILE writes it)")
	}
	for _, o := range []string{"json", "junit", "markdown"} {
		if f.set[o] {
			return fmt.Errorf("recheck: --%s: recheck writes recheck.json to --out, for parity merge", o)
		}
	}
	data, err := os.ReadFile(*planPath)
	if err != nil {
		return fmt.Errorf("--plan: %w", err)
	}
	plan, err := pipeline.ReadRecheckPlan(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *planPath, err)
	}
	cells, err := recheckCells(*cellList, plan)
	if err != nil {
		return err
	}
	if f.out == "" {
		f.out = "parity-recheck"
	}
	if err := preflight(f); err != nil {
		return err
	}
	in, err := f.inputs()
	if err != nil {
		return err
	}
	// The matrix is the merged report's cells, whatever --go, --libc and
	// --arch say: experiments flip factors towards other cells, whose Specs
	// are planned here too.
	in.Matrix, in.Only = reportMatrix(plan.Report)
	assumed, err := pipeline.MakePlan(in, assumedTraits(f.runtime))
	if err != nil {
		return err
	}
	// With --endpoint, each cell's re-runs go to its platform's daemon.
	eps, err := endpoints(f, assumed)
	if err != nil {
		return err
	}
	if err := pipeline.CheckSourceDir(f.source, "--source "+f.source); err != nil {
		return err
	}
	undo, err := prepareOutputs(&runFlags{out: f.out})
	if err != nil {
		return err
	}
	rt, closeRT, err := openRuntime(ctx, f, assumed, eps, stderr)
	if err != nil {
		undo()
		return err
	}
	defer closeRT()
	p, err := pipeline.MakePlan(in, rt.Traits())
	if err != nil {
		return err
	}
	meta := pipeline.Meta{
		Tool: "parity", Version: toolVersion(), Revision: cmp.Or(f.revision, gitRevision(f.source)), Dir: gitDir(f.source), GoSum: goSumDigest(f.source),
		Options: in.Policy, AllowDivergence: f.allowDivergence,
	}
	// The same source, pins and options as the merged report, or nothing
	// made here could be folded into it: say so before any run.
	if _, err := report.Fold(plan.Report, []report.Rechecked{pipeline.Rechecked(p, meta, cells, nil)}, 1); err != nil {
		return fmt.Errorf("recheck: %w: run it on the same source with the same flags as the cell jobs", err)
	}
	// A new machine restores the cell job's caches: the module cache its
	// reduced runs (no deps step) build with, the compiled packages.
	caches, err := openCacheDir(ctx, f, rt, &p, in, stderr)
	if err != nil {
		return err
	}
	if caches != nil {
		caches.restoreOnly = true
	}
	var printer *progress.Printer
	var onEvent func(runner.Event)
	if !f.noProgress {
		printer = progress.New(stderr, false)
		onEvent = func(e runner.Event) { printer.Handle(pipeline.ProgressEvent(e)) }
	}
	_, recs, err := pipeline.RecheckMerged(ctx, plan.Report, p, rt, runner.Options{Parallel: f.parallel, OnEvent: onEvent}, cells)
	if printer != nil {
		printer.Close()
	}
	caches.close(ctx, report.Report{})
	out := pipeline.Rechecked(p, meta, cells, recs)
	path := filepath.Join(f.out, "recheck.json")
	if werr := writeFile(path, out.WriteJSON); werr != nil {
		return werr
	}
	fmt.Fprintf(stdout, "parity: %s in %s, written to %s: fold it in with parity merge\n", plural(len(recs), "run"), strings.Join(cells, ", "), path)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %s holds what finished", errInterrupted, path)
	}
	return nil
}

// recheckCells are the cells a recheck makes runs in: those --cell names
// (each must be a cell of the report), else the plan's cells with work.
func recheckCells(list string, plan pipeline.RecheckPlan) ([]string, error) {
	if list == "" {
		return plan.Cells, nil
	}
	var out []string
	for _, c := range strings.Split(list, ",") {
		c = strings.TrimSpace(c)
		if !slices.ContainsFunc(plan.Report.Cells, func(x report.Cell) bool { return x.Name == c }) {
			var names []string
			for _, x := range plan.Report.Cells {
				names = append(names, x.Name)
			}
			return nil, fmt.Errorf("--cell %s: not a cell of the plan's report (%s)", c, strings.Join(names, ", "))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// reportMatrix is a matrix of exactly the report's cells.
func reportMatrix(r report.Report) (matrix.Spec, []matrix.Cell) {
	var spec matrix.Spec
	var only []matrix.Cell
	for _, c := range r.Cells {
		if !slices.Contains(spec.Go, c.Cell.Go) {
			spec.Go = append(spec.Go, c.Cell.Go)
		}
		if !slices.Contains(spec.Libc, c.Cell.Libc) {
			spec.Libc = append(spec.Libc, c.Cell.Libc)
		}
		if !slices.Contains(spec.Arch, c.Cell.Arch) {
			spec.Arch = append(spec.Arch, c.Cell.Arch)
		}
		only = append(only, c.Cell)
	}
	return spec, only
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

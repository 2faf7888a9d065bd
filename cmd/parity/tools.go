package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"

	"github.com/parity-ci/parity/hook"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pins"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/render"
	"github.com/parity-ci/parity/report"
)

func hostArch() matrix.Arch {
	a, err := matrix.ParseArch(goruntime.GOARCH)
	if err != nil {
		return matrix.Arch(goruntime.GOARCH)
	}
	return a
}

func readReport(path string) (report.Report, error) {
	fh, err := os.Open(path)
	if err != nil {
		return report.Report{}, err
	}
	defer fh.Close()
	r, err := report.Read(fh)
	if err != nil {
		return report.Report{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// cmdMerge merges reports of separate machines into one verdict, folds in
// what parity recheck made for an earlier merge, and, with --plan, writes
// what is still to make.
func cmdMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parity merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "parity-report", "directory for the merged summary.md, junit.xml and report.json")
	allow := fs.Bool("allow-divergence", false, "do not fail the verdict on divergent tests alone")
	planPath := fs.String("plan", "", "write the recheck plan here: the runs the merged report still needs, per cell (parity recheck --plan); exit 0 while it has work")
	if _, err := parseFlags(fs, args, stdout); err != nil {
		return flagErr(err)
	}
	if fs.NArg() < 1 {
		return fmt.Errorf("merge: give report.json files (and the recheck.json files parity recheck wrote for them)")
	}
	var reps []report.Report
	var rechecks []report.Rechecked
	var repFiles, recheckFiles []string
	for _, p := range fs.Args() {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		kind, err := report.Kind(data)
		if err != nil {
			return fmt.Errorf("%s: reading report: %w", p, err)
		}
		switch kind {
		case "":
			r, err := report.Read(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			reps, repFiles = append(reps, r), append(repFiles, p)
		case report.KindRechecked:
			c, err := report.ReadRechecked(data)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			rechecks, recheckFiles = append(rechecks, c), append(recheckFiles, p)
		case pipeline.KindRecheckPlan:
			return fmt.Errorf("%s: a recheck plan, not a report: merge the report.json merged with it and the recheck.json files parity recheck wrote", p)
		default:
			return fmt.Errorf("%s: a %q file, not a report", p, kind)
		}
	}
	if len(reps) == 0 {
		return fmt.Errorf("merge: no report.json among the files, only rechecks")
	}
	// Merge's errors say "merge: ..." and number the inputs from 1, reports
	// first: name the files those numbers mean.
	files := func() string {
		var named []string
		for i, p := range append(slices.Clone(repFiles), recheckFiles...) {
			named = append(named, fmt.Sprintf("%d: %s", i+1, p))
		}
		return strings.Join(named, ", ")
	}
	merged, err := report.Merge(reps...)
	if err != nil {
		return fmt.Errorf("%w (%s)", err, files())
	}
	if merged, err = report.Fold(merged, rechecks, len(reps)+1); err != nil {
		return fmt.Errorf("%w (%s)", err, files())
	}
	// Checked only now: reading and merging is quick, and a refused merge
	// must leave no empty output directory behind.
	outs := &runFlags{out: *out}
	if _, err := prepareOutputs(outs); err != nil {
		return err
	}
	werr := writeOutputs(outs, merged)
	render.Terminal(stdout, merged, render.TerminalOptions{Color: colorOK(stdout)})
	if werr != nil {
		return werr
	}
	if *planPath != "" {
		plan := pipeline.PlanRecheck(merged)
		if err := writeFile(*planPath, plan.WriteJSON); err != nil {
			return err
		}
		if len(plan.Cells) > 0 {
			fmt.Fprintf(stdout, "parity: provisional: %s still %s work (%s): run parity recheck --plan %s in each (--cell), then parity merge %s and the recheck.json files\n",
				plural(len(plan.Cells), "cell"), map[bool]string{true: "has", false: "have"}[len(plan.Cells) == 1], strings.Join(plan.Cells, ", "), *planPath, filepath.Join(*out, "report.json"))
			return nil
		}
	}
	if !merged.Verdict(*allow).OK {
		return errVerdict
	}
	return nil
}

// cmdRender prints a stored report in another form.
func cmdRender(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parity render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "text, markdown, junit, json or annotations")
	if _, err := parseFlags(fs, args, stdout); err != nil {
		return flagErr(err)
	}
	// Flags may also follow the file: parity render a.json --format markdown.
	file, rest := fs.Arg(0), fs.Args()
	if len(rest) > 0 {
		if _, err := parseFlags(fs, rest[1:], stdout); err != nil {
			return flagErr(err)
		}
	}
	if file == "" || fs.NArg() > 0 {
		return fmt.Errorf("render: give one report.json (parity render [--format F] FILE)")
	}
	r, err := readReport(file)
	if err != nil {
		return err
	}
	switch *format {
	case "text":
		render.Terminal(stdout, r, render.TerminalOptions{Color: colorOK(stdout)})
		return nil
	case "markdown":
		return render.Markdown(stdout, r)
	case "junit":
		return render.JUnit(stdout, r)
	case "json":
		return r.WriteJSON(stdout)
	case "annotations":
		render.Annotations(stdout, r)
		return nil
	}
	return fmt.Errorf("render: unknown --format %q (want text, markdown, junit, json or annotations)", *format)
}

func cmdHook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "install" && args[0] != "uninstall") {
		return fmt.Errorf("hook: want `parity hook install [--force]` or `parity hook uninstall`")
	}
	fs := flag.NewFlagSet("parity hook "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "replace a pre-push hook Parity did not write (it is kept as pre-push.parity-backup)")
	dir := fs.String("C", ".", "the repository")
	command := fs.String("command", "", "what the hook runs (default: parity test --profile=pre-push)")
	if _, err := parseFlags(fs, args[1:], stdout); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("hook %s: unexpected arguments %q (the repository is -C DIR)", args[0], fs.Args())
	}
	hooks, err := hook.HooksDir(ctx, *dir)
	if err != nil {
		return fmt.Errorf("hook: %w", err)
	}
	if args[0] == "uninstall" {
		if err := hook.Uninstall(hooks); err != nil {
			return fmt.Errorf("hook: %w", err)
		}
		fmt.Fprintln(stdout, "removed the Parity pre-push hook from", hooks)
		return nil
	}
	if err := hook.Install(hooks, hook.InstallOptions{Force: *force, Command: *command}); err != nil {
		return fmt.Errorf("hook: %w", err)
	}
	fmt.Fprintln(stdout, "installed", filepath.Join(hooks, "pre-push"))
	return nil
}

func cmdPins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "update" && args[0] != "check") {
		return fmt.Errorf("pins: want `parity pins update` or `parity pins check`")
	}
	fs := flag.NewFlagSet("parity pins "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	lockPath := fs.String("lock", matrix.LockFile, "the lock file")
	mirror := fs.String("registry-mirror", pins.MirrorFromEnv(), "resolve tags through this registry mirror (env "+pins.MirrorEnv+")")
	insecure := fs.Bool("insecure", false, "plain HTTP to the registry (a private mirror)")
	if _, err := parseFlags(fs, args[1:], stdout); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("pins %s: unexpected arguments %q (the lock file is --lock FILE)", args[0], fs.Args())
	}
	if err := pipeline.CheckMirror(mirrorFrom(fs), *mirror); *mirror != "" && err != nil {
		return fmt.Errorf("pins %s: %w", args[0], err)
	}
	data, err := os.ReadFile(*lockPath)
	var lock matrix.Lock
	switch {
	case os.IsNotExist(err) && args[0] == "update":
		// First update writes the built-in pins, refreshed.
		lock = matrix.Lock{Version: matrix.LockVersion, Pins: matrix.Builtin()}
	case err != nil:
		return fmt.Errorf("pins: %w", err)
	default:
		if lock, err = pins.ReadLockFile(*lockPath, data); err != nil {
			return fmt.Errorf("pins: %w", err)
		}
	}
	if args[0] == "check" {
		if len(lock.Pins) == 0 {
			return fmt.Errorf("pins check: %s has no pins (`parity pins update` writes the built-in ones)", *lockPath)
		}
		// Every Go version the lock names needs both C libraries pinned.
		cells, err := matrix.Expand(matrix.Spec{}, lock.Pins.GoVersions())
		if err != nil {
			return fmt.Errorf("pins check: %w", err)
		}
		if err := pins.CheckFile(*lockPath, lock, cells); err != nil {
			return fmt.Errorf("pins check: %w", err)
		}
		fmt.Fprintf(stdout, "%s: %d pins, all pinned by digest\n", *lockPath, len(lock.Pins))
		return nil
	}
	updated, changes, err := pins.Update(ctx, lock, pins.Options{Mirror: *mirror, Insecure: *insecure, LockName: *lockPath})
	if err != nil {
		return fmt.Errorf("pins update: %w", err)
	}
	if err := writeFile(*lockPath, func(w io.Writer) error { _, err := w.Write(updated.Marshal()); return err }); err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Fprintln(stdout, c)
	}
	fmt.Fprintf(stdout, "%s: %d pins, %d changed\n", *lockPath, len(updated.Pins), len(changes))
	return nil
}

// mirrorFrom is where a flag set's --registry-mirror came from: the flag,
// or PARITY_REGISTRY_MIRROR when the flag was not given.
func mirrorFrom(fs *flag.FlagSet) string {
	from := pipeline.MirrorEnv
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "registry-mirror" {
			from = pipeline.MirrorFlag
		}
	})
	return from
}

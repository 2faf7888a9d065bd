package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"dagger.io/dagger"

	"github.com/parity-ci/parity/daggerengine"
	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/pins"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/progress"
	"github.com/parity-ci/parity/render"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
)

// runtime is a runner.Runtime whose traits the policies need and which
// must be closed.
type runtime interface {
	runner.Runtime
	Traits() policies.Traits
}

// openRuntime picks and connects the runtime: Dagger inside `dagger run`
// (which sets DAGGER_SESSION_PORT), Docker otherwise.
func openRuntime(ctx context.Context, f *runFlags, stderr io.Writer) (runtime, func(), error) {
	name := f.runtime
	if name == "auto" {
		name = "docker"
		if os.Getenv("DAGGER_SESSION_PORT") != "" {
			name = "dagger"
		}
	}
	switch name {
	case "docker":
		e, err := dockerengine.New(ctx, dockerengine.Options{
			SourceDir: f.source,
			Registry:  pins.Options{Mirror: f.mirror},
		})
		if err != nil {
			return nil, nil, err
		}
		// So a person can find this run's containers (and parity clean them).
		fmt.Fprintf(stderr, "parity: run %s (containers labelled %s=%s)\n", e.RunID(), dockerengine.LabelRun, e.RunID())
		return e, func() { e.Close() }, nil
	case "dagger":
		c, err := dagger.Connect(ctx, dagger.WithLogOutput(stderr))
		if err != nil {
			return nil, nil, fmt.Errorf("dagger: %w (run parity inside `dagger run`, or use --runtime=docker)", err)
		}
		src := c.Host().Directory(f.source, dagger.HostDirectoryOpts{Exclude: []string{".git"}})
		e, err := daggerengine.New(ctx, c, daggerengine.Options{Source: src, RegistryMirror: f.mirror})
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return e, func() { c.Close() }, nil
	}
	return nil, nil, fmt.Errorf("--runtime %q: want docker, dagger or auto", f.runtime)
}

// cmdRun is `parity test` and `parity report`.
func cmdRun(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs, f := newRunFlags(name, stderr)
	var err error
	if f.set, err = parseFlags(fs, args, stdout); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q (flags go before nothing else)", name, fs.Args())
	}
	if name == "report" && f.out == "" {
		f.out = "parity-report"
	}
	if f.profile == "pre-push" && f.runtime == "auto" && os.Getenv("DAGGER_SESSION_PORT") == "" {
		if dg, err := exec.LookPath("dagger"); err == nil {
			return reexecUnderDagger(ctx, dg, append([]string{name}, args...), stdout, stderr)
		}
	}
	in, err := f.inputs()
	if err != nil {
		return err
	}
	// Bad input is reported before any daemon is asked for anything.
	if _, err := pipeline.MakePlan(in, assumedTraits(f.runtime)); err != nil {
		return err
	}
	// A report that cannot be written is known now, not after the run.
	if err := prepareOutputs(f); err != nil {
		return err
	}
	rt, closeRT, err := openRuntime(ctx, f, stderr)
	if err != nil {
		return err
	}
	defer closeRT()
	plan, err := pipeline.MakePlan(in, rt.Traits())
	if err != nil {
		return err
	}
	var printer *progress.Printer
	var onEvent func(runner.Event)
	if !f.noProgress {
		tty := false
		if fh, ok := stderr.(*os.File); ok {
			tty = progress.IsTerminal(fh) && os.Getenv("TERM") != "dumb" && os.Getenv("CI") == ""
		}
		printer = progress.New(stderr, tty)
		onEvent = func(e runner.Event) { printer.Handle(pipeline.ProgressEvent(e)) }
	}
	rep := pipeline.Execute(ctx, plan, rt, runner.Options{Parallel: f.parallel, OnEvent: onEvent}, pipeline.Meta{
		Tool: "parity", Version: toolVersion(), Revision: gitRevision(f.source), Dir: gitDir(f.source), GoSum: goSumDigest(f.source),
		Options: in.Policy, AllowDivergence: f.allowDivergence,
	})
	if printer != nil {
		printer.Close()
	}
	if err := deliver(f, rep, stdout, stderr); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("interrupted: the report above holds what finished")
	}
	if name == "report" {
		return nil
	}
	if !rep.Verdict(f.allowDivergence).OK {
		return errVerdict
	}
	return nil
}

// reexecUnderDagger runs this same command inside `dagger run`, which hands
// it a Dagger session: the pre-push profile prefers Dagger when it is there.
func reexecUnderDagger(ctx context.Context, daggerBin string, args []string, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, daggerBin, append([]string{"run", self}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == exitVerdict {
			return errVerdict
		}
		return fmt.Errorf("dagger run: %w", err)
	}
	return nil
}

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newRunFlags("plan", stderr)
	var err error
	if f.set, err = parseFlags(fs, args, stdout); err != nil {
		return flagErr(err)
	}
	in, err := f.inputs()
	if err != nil {
		return err
	}
	traits, err := planTraits(ctx, f)
	if err != nil {
		return err
	}
	plan, err := pipeline.MakePlan(in, traits)
	if err != nil {
		return err
	}
	return pipeline.WritePlan(stdout, plan, traits)
}

// planTraits are the runtime's traits without running anything: asked of
// the Docker daemon when one answers, else assumed.
func planTraits(ctx context.Context, f *runFlags) (policies.Traits, error) {
	t := assumedTraits(f.runtime)
	if t.Name == "docker" {
		if e, err := dockerengine.New(ctx, dockerengine.Options{}); err == nil {
			defer e.Close()
			return e.Traits(), nil
		}
	}
	if t.Name == "" {
		return t, fmt.Errorf("--runtime %q: want docker, dagger or auto", f.runtime)
	}
	return t, nil
}

// assumedTraits are what a runtime can do on this host, without asking it.
func assumedTraits(runtime string) policies.Traits {
	if runtime == "dagger" || (runtime == "auto" && os.Getenv("DAGGER_SESSION_PORT") != "") {
		return policies.Traits{Name: "dagger", NativeArch: hostArch()}
	}
	if runtime != "docker" && runtime != "auto" {
		return policies.Traits{}
	}
	t := (&dockerengine.Engine{}).Traits()
	t.NativeArch = hostArch()
	return t
}

// deliver writes the report files and prints the summary: the summary
// whatever happens to the files, so a full disk never loses the verdict.
func deliver(f *runFlags, rep report.Report, stdout, stderr io.Writer) error {
	werr := writeOutputs(f, rep)
	if err := githubOutputs(rep); err != nil {
		fmt.Fprintln(stderr, "parity: GitHub summary:", err)
	}
	render.Terminal(stdout, rep, render.TerminalOptions{Color: colorOK(stdout)})
	return werr
}

// prepareOutputs creates the directories of every report file and checks
// that each can be written the way writeFile will (a temporary file next to
// it, renamed over it), before anything runs.
func prepareOutputs(f *runFlags) error {
	check := func(flagName, dir string, files ...string) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%s: %w", flagName, err)
		}
		for _, p := range files {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				return fmt.Errorf("%s %s: is a directory, want a file", flagName, p)
			}
		}
		tmp, err := os.CreateTemp(dir, ".parity-check-*")
		if err != nil {
			return fmt.Errorf("%s: cannot write in %s: %w", flagName, dir, err)
		}
		tmp.Close()
		return os.Remove(tmp.Name())
	}
	if f.out != "" {
		if err := check("--out", f.out, filepath.Join(f.out, "report.json"), filepath.Join(f.out, "junit.xml"), filepath.Join(f.out, "summary.md")); err != nil {
			return err
		}
	}
	for _, o := range []struct{ flag, path string }{{"--json", f.jsonOut}, {"--junit", f.junitOut}, {"--markdown", f.markdownOut}} {
		if o.path == "" {
			continue
		}
		if err := check(o.flag, filepath.Dir(o.path), o.path); err != nil {
			return err
		}
	}
	return nil
}

func writeOutputs(f *runFlags, rep report.Report) error {
	type out struct {
		path  string
		write func(io.Writer) error
	}
	var outs []out
	if f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return err
		}
		outs = append(outs,
			out{filepath.Join(f.out, "report.json"), rep.WriteJSON},
			out{filepath.Join(f.out, "junit.xml"), func(w io.Writer) error { return render.JUnit(w, rep) }},
			out{filepath.Join(f.out, "summary.md"), func(w io.Writer) error { return render.Markdown(w, rep) }},
		)
	}
	if f.jsonOut != "" {
		outs = append(outs, out{f.jsonOut, rep.WriteJSON})
	}
	if f.junitOut != "" {
		outs = append(outs, out{f.junitOut, func(w io.Writer) error { return render.JUnit(w, rep) }})
	}
	if f.markdownOut != "" {
		outs = append(outs, out{f.markdownOut, func(w io.Writer) error { return render.Markdown(w, rep) }})
	}
	for _, o := range outs {
		if err := writeFile(o.path, o.write); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes through a temporary file so a failed write never leaves
// half a report where a CI step will read it.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".parity-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// githubOutputs appends the Markdown summary to $GITHUB_STEP_SUMMARY and
// prints annotations when running in GitHub Actions.
func githubOutputs(rep report.Report) error {
	if os.Getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	render.Annotations(os.Stdout, rep)
	p := os.Getenv("GITHUB_STEP_SUMMARY")
	if p == "" {
		return nil
	}
	fh, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer fh.Close()
	return render.Markdown(fh, rep)
}

// goSumDigest names the module's go.sum by content, so reports from other
// checkouts of the same module merge; "" when it cannot be read.
func goSumDigest(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return ""
	}
	return pipeline.Digest(b)
}

func gitRevision(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// gitDir is the module's directory relative to its repository root, so
// annotations name files as GitHub sees them.
func gitDir(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-prefix").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSpace(string(out)), "/")
}

func colorOK(w io.Writer) bool {
	fh, ok := w.(*os.File)
	return ok && progress.IsTerminal(fh) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// flagErr is nil after -h (the usage was asked for and printed).
func flagErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"dagger.io/dagger"

	"github.com/parity-ci/parity/daggerengine"
	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/job"
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
// (which sets DAGGER_SESSION_PORT), Docker otherwise: the default daemon
// and one per --endpoint (eps), as many as plan's cells need.
func openRuntime(ctx context.Context, f *runFlags, plan pipeline.Plan, eps []dockerengine.Endpoint, stderr io.Writer) (runtime, func(), error) {
	switch runtimeName(f.runtime) {
	case "docker":
		e, err := dockerengine.NewFleet(ctx, dockerengine.Options{
			SourceDir: f.source,
			Registry:  pins.Options{Mirror: f.mirror},
		}, eps, needsDefault(plan, eps))
		if err != nil {
			return nil, nil, err
		}
		// Containers of earlier runs whose Parity process is provably dead
		// (SIGKILL, a crash) would otherwise stay forever; only a run
		// sweeps, never plan or the constructor.
		if rm, err := e.SweepStale(ctx); err != nil {
			fmt.Fprintf(stderr, "parity: docker: sweeping dead runs' containers: %v\n", err)
		} else if len(rm.Containers) > 0 {
			fmt.Fprintf(stderr, "parity: docker: removed %d container(s) left by dead runs\n", len(rm.Containers))
		}
		for _, err := range e.Lost() {
			fmt.Fprintf(stderr, "parity: %v: its cells will be reported runtime-lost\n", err)
		}
		// So a person can find this run's containers (and parity clean them).
		fmt.Fprintf(stderr, "parity: run %s (containers labelled %s=%s)\n", e.RunID(), dockerengine.LabelRun, e.RunID())
		// The clean-up outlives the run's context, but not a second Ctrl-C.
		return e, func() { e.CloseContext(cleanupContext(ctx)) }, nil
	case "dagger":
		if len(eps) > 0 {
			return nil, nil, errors.New("--endpoint needs the Docker runtime: a Dagger session runs every cell on its one engine (run one job per engine and merge the reports)")
		}
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

// runtimeName resolves --runtime auto: Dagger inside `dagger run`.
func runtimeName(name string) string {
	if name == "auto" {
		name = "docker"
		if os.Getenv("DAGGER_SESSION_PORT") != "" {
			name = "dagger"
		}
	}
	return name
}

// endpoints reads --endpoint and refuses one no cell of the plan uses:
// a typo would otherwise leave the cells it meant on the default daemon.
func endpoints(f *runFlags, plan pipeline.Plan) ([]dockerengine.Endpoint, error) {
	eps, err := dockerengine.ParseEndpoints(f.endpoints)
	if err != nil {
		return nil, err
	}
	if len(eps) > 0 && runtimeName(f.runtime) == "dagger" {
		return nil, errors.New("--endpoint needs the Docker runtime: a Dagger session runs every cell on its one engine (run one job per engine and merge the reports)")
	}
	for _, ep := range eps {
		if !slices.ContainsFunc(plan.Specs, func(s job.Spec) bool { return s.Platform == ep.Platform }) {
			var platforms []string
			for _, s := range plan.Specs {
				if !slices.Contains(platforms, s.Platform) {
					platforms = append(platforms, s.Platform)
				}
			}
			return nil, fmt.Errorf("--endpoint %s: no cell of the matrix is %s (its platforms: %s)", ep, ep.Platform, strings.Join(platforms, ", "))
		}
	}
	return eps, nil
}

// needsDefault reports whether some cell that runs has no endpoint.
func needsDefault(plan pipeline.Plan, eps []dockerengine.Endpoint) bool {
	return slices.ContainsFunc(plan.Specs, func(s job.Spec) bool {
		return s.NotRunnable == "" && !slices.ContainsFunc(eps, func(ep dockerengine.Endpoint) bool { return ep.Platform == s.Platform })
	})
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
	userSource := f.source
	if f.profile == "pre-push" && f.runtime == "auto" && os.Getenv("DAGGER_SESSION_PORT") == "" {
		if dg, err := exec.LookPath("dagger"); err == nil {
			return reexecUnderDagger(ctx, dg, append([]string{name}, args...), stdout, stderr)
		}
	}
	in, assumed, eps, err := checkedInput(f)
	if err != nil {
		return err
	}
	if err := pipeline.CheckSourceDir(f.source, "--source "+userSource); err != nil {
		return err
	}
	// A report that cannot be written is known now, not after the run.
	undo, err := prepareOutputs(f)
	if err != nil {
		return err
	}
	rt, closeRT, err := openRuntime(ctx, f, assumed, eps, stderr)
	if err != nil {
		undo() // no run, no report: leave no empty directory behind
		return err
	}
	defer closeRT()
	plan, err := pipeline.MakePlan(in, rt.Traits())
	if err != nil {
		return err
	}
	caches, err := openCacheDir(ctx, f, rt, &plan, in, stderr)
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
		Tool: "parity", Version: toolVersion(), Revision: cmp.Or(f.revision, gitRevision(f.source)), Dir: gitDir(f.source), GoSum: goSumDigest(f.source),
		Options: in.Policy, AllowDivergence: f.allowDivergence,
	})
	rep.Shard = in.Shard
	if printer != nil {
		printer.Close()
	}
	caches.close(ctx, rep)
	if err := deliver(f, rep, stdout, stderr); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: the report above holds what finished", errInterrupted)
	}
	if name == "report" {
		return nil
	}
	if !rep.Verdict(f.allowDivergence).OK {
		return errVerdict
	}
	return nil
}

// checkedInput checks the flags and plans on the traits the runtime is
// assumed to have, with the endpoints parsed against that plan: bad input
// is reported before any daemon is asked for anything.
func checkedInput(f *runFlags) (pipeline.Inputs, pipeline.Plan, []dockerengine.Endpoint, error) {
	if err := preflight(f); err != nil {
		return pipeline.Inputs{}, pipeline.Plan{}, nil, err
	}
	in, err := f.inputs()
	if err != nil {
		return pipeline.Inputs{}, pipeline.Plan{}, nil, err
	}
	assumed, err := pipeline.MakePlan(in, assumedTraits(f.runtime))
	if err != nil {
		return pipeline.Inputs{}, pipeline.Plan{}, nil, err
	}
	eps, err := endpoints(f, assumed)
	if err != nil {
		return pipeline.Inputs{}, pipeline.Plan{}, nil, err
	}
	return in, assumed, eps, nil
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
	fs, f := newPlanFlags(stderr)
	var err error
	if f.set, err = parseFlags(fs, args, stdout); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("plan: unexpected arguments %q (plan takes flags only)", fs.Args())
	}
	for _, o := range []string{"out", "json", "junit", "markdown"} {
		if f.set[o] {
			return fmt.Errorf("plan: --%s: plan runs nothing and writes no report (use it with parity test or parity report)", o)
		}
	}
	in, assumed, eps, err := checkedInput(f)
	if err != nil {
		return err
	}
	traits, err := planTraits(ctx, f, assumed, eps)
	if err != nil {
		return err
	}
	plan, err := pipeline.MakePlan(in, traits)
	if err != nil {
		return err
	}
	if f.set["shards"] || f.set["timings"] {
		return writeShards(f, plan, in, stdout, stderr)
	}
	return pipeline.WritePlan(stdout, plan, traits)
}

// writeShards prints the shards of every cell as one line of JSON (for
// GitHub's fromJSON through $GITHUB_OUTPUT), and how balanced they are on
// stderr. The packages are found in the source without the go command.
func writeShards(f *runFlags, plan pipeline.Plan, in pipeline.Inputs, stdout, stderr io.Writer) error {
	if f.shard != "" {
		return errors.New("plan: --shards splits whole cells: leave out --shard")
	}
	o := pipeline.ShardOptions{N: f.shards, Patterns: in.Policy.Packages, Tags: in.Policy.Tags}
	if f.timings != "" {
		fh, err := os.Open(f.timings)
		if err != nil {
			return fmt.Errorf("--timings: %w", err)
		}
		rep, err := report.Read(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("--timings %s: %w", f.timings, err)
		}
		o.Timings = &rep
	}
	src := os.DirFS(f.source)
	o.Packages = func(t pipeline.BuildTarget) ([]pipeline.SourcePackage, error) {
		return pipeline.FindPackages(src, in.Policy.Packages, t)
	}
	m, err := pipeline.PlanShards(plan, o)
	if err != nil {
		return err
	}
	for _, line := range pipeline.ShardBalance(m, o.Timings != nil) {
		fmt.Fprintln(stderr, "parity:", line)
	}
	return json.NewEncoder(stdout).Encode(m)
}

// planTraits are the runtime's traits without running anything: asked of
// the Docker daemons (the default one and each --endpoint's) when they
// answer, else assumed. Connecting touches nothing.
func planTraits(ctx context.Context, f *runFlags, plan pipeline.Plan, eps []dockerengine.Endpoint) (policies.Traits, error) {
	t := assumedTraits(f.runtime)
	if t.Name == "docker" {
		if fl, err := dockerengine.NewFleet(ctx, dockerengine.Options{}, eps, needsDefault(plan, eps)); err == nil {
			defer fl.Close()
			return fl.Traits(), nil
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
// it, renamed over it), before anything runs. undo removes the directories
// it created, for a run that ends before it has a report to write.
func prepareOutputs(f *runFlags) (undo func(), err error) {
	var created []string
	undo = func() {
		for i := len(created) - 1; i >= 0; i-- {
			os.Remove(created[i]) // only while empty: never a user's file
		}
	}
	defer func() {
		if err != nil {
			undo()
		}
	}()
	check := func(flagName, dir string, files ...string) error {
		made, err := mkdirAll(dir)
		created = append(created, made...)
		if err != nil {
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
			return undo, err
		}
	}
	for _, o := range []struct{ flag, path string }{{"--json", f.jsonOut}, {"--junit", f.junitOut}, {"--markdown", f.markdownOut}} {
		if o.path == "" {
			continue
		}
		if err := check(o.flag, filepath.Dir(o.path), o.path); err != nil {
			return undo, err
		}
	}
	return undo, nil
}

// mkdirAll is os.MkdirAll that returns the directories it created,
// outermost first.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	slices.Reverse(missing)
	return missing, nil
}

// preflight checks what the request cannot see: the content of the files
// flags name, and whether they came from a variable the user set rather
// than a flag they typed. One line each, before anything runs. (The
// mirror's origin reaches the request itself: Host.MirrorFrom.)
func preflight(f *runFlags) error {
	if f.caBundle != "" {
		name := "--ca-bundle " + f.caBundle
		if !f.set["ca-bundle"] {
			name = "PARITY_CA_BUNDLE=" + f.caBundle
		}
		st, err := os.Stat(f.caBundle)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", name, errors.Unwrap(err))
		case st.IsDir():
			return fmt.Errorf("%s: is a directory, want a file of PEM certificates", name)
		}
		data, err := os.ReadFile(f.caBundle)
		if err != nil {
			return fmt.Errorf("%s: %w", name, errors.Unwrap(err))
		}
		if err := pipeline.CheckCABundle(name, data); err != nil {
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
// half a report where a CI step will read it. A run killed mid-write
// (SIGKILL runs no clean-up) leaves its temporary file behind: the next
// write in that directory removes those that are clearly abandoned.
func writeFile(path string, write func(io.Writer) error) error {
	removeAbandonedTemps(filepath.Dir(path), time.Now().Add(-abandonedAfter))
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

// abandonedAfter is how old a temporary report file must be before another
// run takes it for abandoned: writing one takes milliseconds.
const abandonedAfter = 10 * time.Minute

// tempName matches the temporary files writeFile and the output check
// create (os.CreateTemp puts digits where the pattern has *).
var tempName = regexp.MustCompile(`^\.parity-(check-)?[0-9]+$`)

// removeAbandonedTemps removes Parity's own temporary files in dir last
// modified before cutoff; nothing else is touched.
func removeAbandonedTemps(dir string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !tempName.MatchString(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
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

// Command parity runs a Go module's tests across a matrix of Go versions,
// C libraries and architectures in hermetic containers and reports the tests
// whose outcome depends on the platform.
//
//	parity test [flags]              run the matrix, print the verdict
//	parity report --out DIR [flags]  run the matrix, write summary.md, junit.xml, report.json
//	parity plan [flags]              print the cells, images and decisions; run nothing
//	parity merge -o DIR A.json B.json  merge reports made on separate machines
//	parity recheck --plan FILE       make the runs a merge still needs
//	parity render --format F report.json
//	parity hook install|uninstall    the git pre-push hook
//	parity pins update|check         the image pins in parity.lock.json
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/parity-ci/parity/buildinfo"
)

// Exit codes: 0 the verdict is green, 1 tests failed or diverged or a cell
// could not run, 2 bad input or a failure of Parity's own.
const (
	exitOK      = 0
	exitVerdict = 1
	exitError   = 2
)

// version may be set at release time with -ldflags "-X main.version=...";
// otherwise toolVersion reads the build info, as the Dagger module does.
var version = "dev"

func toolVersion() string {
	if version != "dev" {
		return version
	}
	return buildinfo.Version()
}

const usage = `usage: parity <command> [flags]

commands:
  test       run the matrix and print the verdict (exit 1 when it is red)
  report     run the matrix and write summary.md, junit.xml and report.json to --out
  plan       print the cells, their images and the policy decisions, run nothing
  merge      merge report.json files from separate runs into one verdict (--plan: what is still to re-run)
  recheck    make a merge's re-runs and experiments in this machine's cells (--plan FILE)
  render     render a report.json as text, markdown, junit or annotations
  hook       install or uninstall the git pre-push hook
  pins       update or check the image pins in parity.lock.json
  clean      remove containers dead runs left behind (--all: also cache volumes and setup images)
  version    print the version

Run 'parity <command> -h' for the command's flags.
`

// Exit status of a run stopped by a signal: 128 + the signal's number, as
// shells report it (130 after Ctrl-C, 143 after SIGTERM).
const exitInterrupted = 130

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, got, stop := interruptible(context.Background(), sigs)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code == exitInterrupted {
		if s, ok := (<-got).(syscall.Signal); ok {
			code = 128 + int(s)
		}
	}
	os.Exit(code)
}

// interruptible returns a context cancelled by the first signal on sigs
// (the run stops, and cleans up) whose cleanupContext is cancelled by the
// second (the clean-up is cut short: a person pressing Ctrl-C twice wants
// out now). got yields the first signal once stop was called.
func interruptible(parent context.Context, sigs <-chan os.Signal) (ctx context.Context, got <-chan os.Signal, stop func()) {
	cleanup, cutCleanup := context.WithCancel(context.Background())
	ctx, cancel := context.WithCancel(withCleanup(parent, cleanup))
	first := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() {
		var s os.Signal
		select {
		case s = <-sigs:
			first <- s
			cancel()
		case <-done:
			close(first)
			return
		}
		select {
		case <-sigs:
			cutCleanup()
		case <-done:
		}
	}()
	var once bool
	return ctx, first, func() {
		if !once {
			once = true
			close(done)
			cancel()
		}
	}
}

type cleanupKey struct{}

// withCleanup attaches the context that bounds clean-up after ctx is
// cancelled: removing containers must outlive the run's own context, but
// not a second Ctrl-C.
func withCleanup(ctx, cleanup context.Context) context.Context {
	return context.WithValue(ctx, cleanupKey{}, cleanup)
}

// cleanupContext is the context clean-up runs under (see withCleanup):
// never cancelled when none was attached.
func cleanupContext(ctx context.Context) context.Context {
	if c, ok := ctx.Value(cleanupKey{}).(context.Context); ok {
		return c
	}
	return context.Background()
}

// errVerdict marks a run that worked and whose verdict is red.
var errVerdict = errors.New("verdict")

// errInterrupted marks a run stopped by Ctrl-C or SIGTERM.
var errInterrupted = errors.New("interrupted")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	var err error
	switch args[0] {
	case "test":
		err = cmdRun(ctx, "test", args[1:], stdout, stderr)
	case "report":
		err = cmdRun(ctx, "report", args[1:], stdout, stderr)
	case "plan":
		err = cmdPlan(ctx, args[1:], stdout, stderr)
	case "merge":
		err = cmdMerge(args[1:], stdout, stderr)
	case "recheck":
		err = cmdRecheck(ctx, args[1:], stdout, stderr)
	case "render":
		err = cmdRender(args[1:], stdout, stderr)
	case "hook":
		err = cmdHook(ctx, args[1:], stdout, stderr)
	case "pins":
		err = cmdPins(ctx, args[1:], stdout, stderr)
	case "clean":
		err = cmdClean(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		if len(args) > 1 {
			err = fmt.Errorf("version: takes no arguments or flags, got %q", args[1:])
			break
		}
		fmt.Fprintln(stdout, "parity", toolVersion())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "parity: unknown command %q (run 'parity help' for the commands)\n", args[0])
		return exitError
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errVerdict):
		return exitVerdict
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, "parity:", err)
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "parity:", err)
	return exitError
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/pipeline"
)

// cmdClean is `parity clean`: what a run killed with SIGKILL, or cut off
// from its daemon, could not remove. Containers of runs still alive on this
// host are left alone, and so are running ones of runs it cannot check
// (other hosts, other PID namespaces) unless --all. Everything it removes
// is printed on stdout; "nothing to remove" only when it removed nothing.
func cmdClean(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parity clean", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "also remove the cache volumes and the derived parity-setup images")
	scope := fs.String("cache-scope", "", "with --all: only the cache volumes of this scope (the prefix of their names)")
	if _, err := parseFlags(fs, args, stdout); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("clean: unexpected arguments %q", fs.Args())
	}
	if *scope != "" && !*all {
		return fmt.Errorf("clean: --cache-scope needs --all")
	}
	if *scope != "" {
		if err := pipeline.CheckCacheScope(*scope); err != nil {
			return fmt.Errorf("clean: %w", err)
		}
	}
	e, err := dockerengine.New(ctx, dockerengine.Options{Logf: func(format string, a ...any) { fmt.Fprintf(stderr, "parity: "+format+"\n", a...) }})
	if err != nil {
		return err
	}
	defer e.Close()
	o := dockerengine.CleanOptions{All: *all, Scope: *scope}
	rm, err := e.Clean(ctx, o)
	for _, c := range rm.Containers {
		fmt.Fprintln(stdout, "removed container", c)
	}
	for _, v := range rm.Volumes {
		fmt.Fprintln(stdout, "removed volume", v)
	}
	for _, i := range rm.Images {
		fmt.Fprintln(stdout, "removed image", i)
	}
	if len(rm.Containers)+len(rm.Volumes)+len(rm.Images) == 0 && err == nil {
		fmt.Fprintln(stdout, "nothing to remove")
	}
	return err
}

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pins"
	"github.com/parity-ci/parity/pipeline"
)

// runFlags are the flags of test, report and plan.
type runFlags struct {
	source, runtime, lock, profile       string
	gos, libcs, arches, include, exclude string
	race, cgo, ptrace, shuffle, packages string
	runRE, mirror, caBundle, cacheScope  string
	testTimeout, cellTimeout             string
	count, parallel                      int
	allowDivergence, noProgress          bool
	out, jsonOut, junitOut, markdownOut  string
	depsEnv                              multiFlag
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func newRunFlags(name string, stderr io.Writer) (*flag.FlagSet, *runFlags) {
	f := &runFlags{}
	fs := flag.NewFlagSet("parity "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.source, "source", ".", "the Go module to test (the directory holding go.mod)")
	fs.StringVar(&f.runtime, "runtime", "auto", "docker, dagger, or auto (dagger inside `dagger run`, else docker)")
	fs.StringVar(&f.gos, "go", "", "Go versions, comma-separated (default: every pinned version)")
	fs.StringVar(&f.libcs, "libc", "", "C libraries: glibc,musl (default both)")
	fs.StringVar(&f.arches, "arch", "", "architectures: amd64,arm64 (default both)")
	fs.StringVar(&f.include, "include", "", "extra cells, e.g. 1.26.8/musl/arm64, comma-separated")
	fs.StringVar(&f.exclude, "exclude", "", "cells to leave out; * matches anything, e.g. */musl/arm64")
	fs.StringVar(&f.race, "race", "auto", "auto (on wherever it can work), on, off")
	fs.StringVar(&f.cgo, "cgo", "auto", "CGO_ENABLED in every cell: auto (1), on, off")
	fs.StringVar(&f.ptrace, "ptrace", "", "off, children or attach (default: attach on Docker, children on Dagger)")
	fs.IntVar(&f.count, "count", 0, "go test -count")
	fs.StringVar(&f.shuffle, "shuffle", "", "go test -shuffle: on, off or a seed")
	fs.StringVar(&f.testTimeout, "timeout", "", "go test -timeout (default go's 10m)")
	fs.StringVar(&f.cellTimeout, "cell-timeout", "", "stop a cell after this long, all steps included (default none)")
	fs.StringVar(&f.packages, "packages", "./...", "packages to test, comma- or space-separated")
	fs.StringVar(&f.runRE, "run", "", "go test -run")
	fs.IntVar(&f.parallel, "parallel", 0, "cells at once (default: all)")
	fs.BoolVar(&f.allowDivergence, "allow-divergence", false, "do not fail the verdict on divergent tests alone")
	fs.StringVar(&f.lock, "lock", "", "the pins file (default: SOURCE/"+matrix.LockFile+" if present, else the built-in pins)")
	fs.StringVar(&f.mirror, "registry-mirror", pins.MirrorFromEnv(), "fetch images through this registry mirror (env "+pins.MirrorEnv+")")
	fs.StringVar(&f.caBundle, "ca-bundle", os.Getenv("PARITY_CA_BUNDLE"), "extra CA certificates for the module download step (env PARITY_CA_BUNDLE)")
	fs.Var(&f.depsEnv, "deps-env", "KEY=VALUE for the module download step only (repeatable); GOPROXY, GOPRIVATE, GONOSUMDB, GONOPROXY, GOSUMDB, GOINSECURE and HTTP(S)_PROXY/NO_PROXY are passed from the environment when set")
	fs.StringVar(&f.cacheScope, "cache-scope", "parity", "prefix of the cache volume names")
	fs.StringVar(&f.profile, "profile", "", "pre-push: only the cells of this machine's arch")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no live progress on stderr")
	fs.StringVar(&f.out, "out", "", "write summary.md, junit.xml and report.json into this directory")
	fs.StringVar(&f.jsonOut, "json", "", "write the JSON report to this file")
	fs.StringVar(&f.junitOut, "junit", "", "write JUnit XML to this file")
	fs.StringVar(&f.markdownOut, "markdown", "", "write the Markdown summary to this file")
	return fs, f
}

// depsEnvFromHost are the variables a module download needs from the user's
// setup; they reach the deps step only, and the decisions list them.
var depsEnvFromHost = []string{"GOPROXY", "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOSUMDB", "GOINSECURE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// inputs reads the source's go.mod and lock file and turns the flags into
// pipeline inputs. Every error is one line that says what to fix.
func (f *runFlags) inputs() (pipeline.Inputs, error) {
	var in pipeline.Inputs
	src, err := filepath.Abs(f.source)
	if err != nil {
		return in, err
	}
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return in, fmt.Errorf("--source %s: not a directory", f.source)
	}
	f.source = src
	in.GoMod, err = os.ReadFile(filepath.Join(src, "go.mod"))
	if os.IsNotExist(err) {
		return in, fmt.Errorf("%s: %w", src, pipeline.ErrNoGoMod)
	} else if err != nil {
		return in, err
	}
	lock := f.lock
	if lock == "" {
		lock = filepath.Join(src, matrix.LockFile)
		if _, err := os.Stat(lock); err != nil {
			lock = ""
		}
	}
	if lock != "" {
		if in.Lock, err = os.ReadFile(lock); err != nil {
			return in, fmt.Errorf("--lock: %w", err)
		}
		in.LockName = lock
	}
	req, err := f.request()
	if err != nil {
		return in, err
	}
	return req.Inputs(in.GoMod, in.Lock, in.LockName)
}

func (f *runFlags) request() (pipeline.Request, error) {
	r := pipeline.Request{
		Go: []string{f.gos}, Libc: []string{f.libcs}, Arch: []string{f.arches},
		Include: []string{f.include}, Exclude: []string{f.exclude},
		Profile: f.profile, HostArch: goruntime.GOARCH,
		Race: f.race, Cgo: f.cgo, Ptrace: f.ptrace, Count: f.count, Shuffle: f.shuffle, Run: f.runRE,
		Timeout: f.testTimeout, CellTimeout: f.cellTimeout, Packages: []string{f.packages},
		CacheScope: f.cacheScope, DepsEnv: map[string]string{},
	}
	if f.caBundle != "" {
		ca, err := filepath.Abs(f.caBundle)
		if err != nil {
			return r, err
		}
		if _, err := os.Stat(ca); err != nil {
			return r, fmt.Errorf("--ca-bundle: %w", err)
		}
		r.CABundle = ca
	}
	for _, k := range depsEnvFromHost {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			r.DepsEnv[k] = v
		}
	}
	for _, kv := range f.depsEnv {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return r, fmt.Errorf("--deps-env %q: want KEY=VALUE", kv)
		}
		r.DepsEnv[k] = v
	}
	return r, nil
}

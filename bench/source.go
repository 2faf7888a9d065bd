package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/mod/modfile"
)

// A suite is a module whose tests the bench runs.
type suite struct {
	name string
	// module is "path@version", fetched through the module proxy at bench
	// time (never committed); "" means testdata/fixture.
	module string
	// sum is the module zip's h1: hash: the bench refuses any other source,
	// so every run measures exactly the same code.
	sum      string
	packages []string
	about    string // one line for the report
}

var suites = []suite{{
	name: "fixture",
	// These packages pass in every native cell, so go test can cache their
	// results on a warm re-run (failing packages are never cached).
	packages: []string{"./plain/", "./arch/"},
	about:    "the passing packages of this repository's `testdata/fixture` module",
}, {
	name:     "toml",
	module:   "github.com/BurntSushi/toml@v1.5.0",
	sum:      "h1:W5quZX/G/csjUnuI8SUYlsHs9M38FC7znL0lIO+DvMg=",
	packages: []string{"./..."},
	// Pure Go, no dependencies, ~2,500 tests and subtests (the toml-test
	// corpus) in a few seconds: a real suite a 2-core machine can run.
	about: "a popular pure-Go module with no dependencies (its toml-test corpus: ~2,500 tests and subtests), fetched through the module proxy at bench time",
}}

func findSuite(name string) (suite, error) {
	var names []string
	for _, s := range suites {
		if s.name == name {
			return s, nil
		}
		names = append(names, s.name)
	}
	return suite{}, fmt.Errorf("unknown suite %q (known: %v)", name, names)
}

// source returns the suite's module directory and a function removing it.
// A fetched module is copied out of the module cache, whose tree is
// read-only, into a temporary directory the cells' uid can read.
func (s suite) source(ctx context.Context) (dir string, cleanup func(), err error) {
	if s.module == "" {
		dir, err := filepath.Abs("testdata/fixture")
		return dir, func() {}, err
	}
	tmp, err := os.MkdirTemp("", "parity-bench-src-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	// Cells run as uid 65534: it must be able to reach the source.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", nil, err
	}
	// Run outside any module, so the download is recorded nowhere.
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", s.module)
	cmd.Dir = tmp
	out, runErr := cmd.Output()
	var m struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Error != "" || runErr != nil {
		return "", nil, fmt.Errorf("go mod download %s: %v %s", s.module, runErr, m.Error)
	}
	if m.Sum != s.sum {
		return "", nil, fmt.Errorf("go mod download %s: zip hash %s, want %s", s.module, m.Sum, s.sum)
	}
	dir = filepath.Join(tmp, "src")
	// CopyFS makes files 0666 and directories 0777 before the umask:
	// writable by us (so RemoveAll works), readable by the cells.
	if err := os.CopyFS(dir, os.DirFS(m.Dir)); err != nil {
		return "", nil, fmt.Errorf("copying %s out of the module cache: %w", s.module, err)
	}
	if err := checkGoSum(dir); err != nil {
		return "", nil, fmt.Errorf("%s: %w", s.module, err)
	}
	return dir, cleanup, nil
}

// checkGoSum refuses a module that requires others but ships no go.sum: its
// deps step (GOFLAGS=-mod=readonly) would fail in every cell.
func checkGoSum(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	mf, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		return err
	}
	if len(mf.Require) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("requires %d modules but has no go.sum", len(mf.Require))
	} else if err != nil {
		return err
	}
	return nil
}

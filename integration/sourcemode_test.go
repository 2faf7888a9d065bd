package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

const hostile = "example.com/hostile/"

func hostileDir(t *testing.T) string {
	d, err := filepath.Abs("../testdata/hostile")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func hostileResult(rep report.Report, pkg, test, cell string) (report.Result, bool) {
	for _, r := range rep.Tests {
		if r.Package == hostile+pkg && r.Test == test {
			return r.Result(cell)
		}
	}
	return report.Result{}, false
}

// TestSourceModeCopy: a suite that writes beside its sources fails on the
// default read-only source, with a cause naming the level that lets it run,
// and passes with --source-mode=copy, where go.mod still cannot change and
// nothing reaches the host.
func TestSourceModeCopy(t *testing.T) {
	h := env(t)
	dir := hostileDir(t)
	eng := h.engine(t, dir)
	for _, mode := range []string{"readonly", "copy"} {
		req := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc", "musl"}, Arch: []string{"amd64"}, Packages: []string{"./scribbler"}, SourceMode: mode, Timeout: "60s"}
		req.CacheScope = scope(t, eng)
		rep, _ := h.runIn(t, context.Background(), eng, dir, req, runner.Options{})
		keep(t, rep)
		want := testjson.Pass
		if mode == "readonly" {
			want = testjson.Fail
		}
		for _, cell := range []string{glibcAMD64, muslAMD64} {
			r, ok := hostileResult(rep, "scribbler", "TestWritesBesideSources", cell)
			if !ok || r.Outcome != want {
				t.Errorf("%s, %s: outcome %q, want %q; output:\n%s", mode, cell, r.Outcome, want, r.Output)
			}
		}
		if mode == "readonly" {
			for _, row := range rep.Tests {
				if row.Test == "TestWritesBesideSources" && (row.Cause == nil || !containsAll(row.Cause.Hint+row.Cause.Text, "--source-mode=copy")) {
					t.Errorf("the failure does not say which level lets it run: %+v", row.Cause)
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "scribbler", "beside.txt")); err == nil {
		os.Remove(filepath.Join(dir, "scribbler", "beside.txt"))
		t.Error("a test's write reached the host's source directory")
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

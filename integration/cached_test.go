package integration

import (
	"context"
	"testing"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/runner"
)

// TestCachedResultsAreMarked runs the same package twice on one cache
// scope: the second time go test replays the result from its build cache
// ("(cached)"), and the report says so instead of passing it off as a run.
func TestCachedResultsAreMarked(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, Packages: []string{"./plain"}}
	req.CacheScope = scope(t, eng)
	for i, wantCached := range []bool{false, true} {
		rep, _ := h.run(t, context.Background(), eng, req, runner.Options{})
		keep(t, rep)
		c := cellOf(t, rep, glibcAMD64)
		pkg, ok := row(t, rep, "plain", "").Result(glibcAMD64)
		if !ok {
			t.Fatalf("run %d: no package result", i+1)
		}
		if pkg.Cached != wantCached || (c.Counts.Cached > 0) != wantCached {
			t.Errorf("run %d: package cached=%v, cell counts cached=%d; want cached=%v", i+1, pkg.Cached, c.Counts.Cached, wantCached)
		}
	}
}

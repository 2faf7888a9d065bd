package integration

import (
	"context"
	"testing"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/runner"
)

// TestResultsAreNeverReplayedAcrossRuns runs the same package twice on one
// cache scope. go test's cache would replay the second run's results
// ("(cached)"), but a test result in the build cache is what a test could
// forge: tests see a throwaway view of the build cache, so every run runs
// every test (from compiled packages the build step left), and the report
// says none was replayed.
func TestResultsAreNeverReplayedAcrossRuns(t *testing.T) {
	h := env(t)
	eng := h.engine(t, h.fixDir)
	req := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, Packages: []string{"./plain"}}
	req.CacheScope = scope(t, eng)
	for i := range 2 {
		rep, _ := h.run(t, context.Background(), eng, req, runner.Options{})
		keep(t, rep)
		c := cellOf(t, rep, glibcAMD64)
		pkg, ok := row(t, rep, "plain", "").Result(glibcAMD64)
		if !ok {
			t.Fatalf("run %d: no package result", i+1)
		}
		if pkg.Cached || c.Counts.Cached > 0 || c.Counts.Pass == 0 {
			t.Errorf("run %d: package cached=%v, cell counts %+v; want every test run", i+1, pkg.Cached, c.Counts)
		}
	}
}

package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// TestGoTestFlagsReachGoTest runs a small module whose tests show which of
// -short, -tags, -skip and -failfast go test obeyed, in a real cell.
func TestGoTestFlagsReachGoTest(t *testing.T) {
	h := env(t)
	src, err := os.MkdirTemp("", "parity-flags-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(src) })
	// The cell's uid 65534 reads the bind-mounted source.
	if err := os.Chmod(src, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod": "module example.com/flags\n\ngo 1.26\n",
		"a_test.go": `package flags

import "testing"

func TestAFails(t *testing.T) { t.Fatal("first failure") }

func TestBAfterFailure(t *testing.T) {}

func TestLong(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
}

func TestSkipped(t *testing.T) {}
`,
		"tagged_test.go": "//go:build paritytag\n\npackage flags\n\nimport \"testing\"\n\nfunc TestTagged(t *testing.T) {}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eng := h.engine(t, src)
	run := func(req pipeline.Request) map[string]testjson.Outcome {
		t.Helper()
		req.Go, req.Libc, req.Arch, req.CacheScope = []string{"1.26.8"}, []string{"glibc"}, []string{"amd64"}, scope(t, eng)
		rep, _ := h.runIn(t, context.Background(), eng, src, req, runner.Options{})
		c := rep.Cells[0]
		if !c.RanTests() {
			t.Fatalf("%s: %s %s; steps %+v", c.Name, c.Status, c.Message, c.Steps)
		}
		got := map[string]testjson.Outcome{}
		for _, r := range rep.Tests {
			if res, ok := r.Result(c.Name); ok && r.Test != "" {
				got[r.Test] = res.Outcome
			}
		}
		return got
	}
	with := run(pipeline.Request{Short: "on", Tags: []string{"paritytag"}, Skip: "TestSkipped|TestAFails"})
	if with["TestLong"] != testjson.Skip || with["TestTagged"] != testjson.Pass || with["TestBAfterFailure"] != testjson.Pass {
		t.Errorf("-short -tags -skip: outcomes %v", with)
	}
	if _, ran := with["TestSkipped"]; ran {
		t.Errorf("-skip: TestSkipped ran: %v", with)
	}
	// TestAFails was skipped above, so the cell passed: run it again failing.
	ff := run(pipeline.Request{Failfast: true})
	if ff["TestAFails"] != testjson.Fail {
		t.Errorf("failfast: outcomes %v", ff)
	}
	if _, ran := ff["TestBAfterFailure"]; ran {
		t.Errorf("-failfast: a test after the first failure ran: %v", ff)
	}
}

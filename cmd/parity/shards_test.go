package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// TestPlanShardsPrintsAMatrix: `parity plan --shards N` prints one line of
// JSON (what $GITHUB_OUTPUT takes, for fromJSON) and says on stderr how
// balanced the shards are; --timings weighs packages by a report's times.
func TestPlanShardsPrintsAMatrix(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	dir := module(t, "module example.com/m\n\ngo 1.26\n", "")
	for _, p := range []string{"a", "b", "c", "d"} {
		os.MkdirAll(filepath.Join(dir, p), 0o755)
		os.WriteFile(filepath.Join(dir, p, p+"_test.go"), []byte("package "+p+"\n"), 0o644)
	}
	args := []string{"plan", "--source", dir, "--runtime", "docker", "--go", "1.26.8", "--libc", "glibc", "--arch", "amd64", "--shards", "2"}
	code, stdout, stderr := runCLI(t, args...)
	if code != exitOK || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	var m pipeline.ShardMatrix
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Include) != 2 || m.Include[0].Tests != 2 || m.Include[1].Tests != 2 || m.Include[0].Shard != "1/2" {
		t.Errorf("matrix %+v", m.Include)
	}
	if !strings.Contains(stderr, "go1.26.8/glibc/amd64: 2 shards of 2, 2 test packages (no --timings: split by count)") {
		t.Errorf("stderr %q", stderr)
	}

	// Timings: a takes as long as the three others together (the root
	// package has no tests: it weighs nothing, wherever it goes).
	rep := report.Report{SchemaVersion: report.SchemaVersion, Source: report.Source{Module: "example.com/m"}}
	for p, s := range map[string]float64{"a": 9, "b": 4, "c": 3, "d": 2} {
		rep.Tests = append(rep.Tests, report.TestRow{Package: "example.com/m/" + p, Results: []report.Result{{Cell: "go1.26.8/glibc/amd64", Outcome: testjson.Pass, ElapsedSeconds: s}}})
	}
	f, _ := os.Create(filepath.Join(t.TempDir(), "report.json"))
	rep.WriteJSON(f)
	f.Close()
	code, stdout, stderr = runCLI(t, append(args, "--timings", f.Name())...)
	if code != exitOK || json.Unmarshal([]byte(stdout), &m) != nil {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if m.Include[0].Packages != ". ./a" || m.Include[0].Seconds != 9 || m.Include[1].Packages != "./b ./c ./d" || m.Include[1].Seconds != 9 {
		t.Errorf("matrix with timings %+v", m.Include)
	}
	if !strings.Contains(stderr, "2 shards of 9.0 s, 9.0 s recorded: the longest is 0.0% above the shortest") {
		t.Errorf("stderr %q", stderr)
	}

	oneLine(t, "--shards 0: want 1 or more", append(slices.Clone(args[:len(args)-1]), "0")...)
	oneLine(t, "--shards splits whole cells: leave out --shard", append(args, "--shard=1/2", "--shard-packages=./a")...)
	other := rep
	other.Source.Module = "example.com/other"
	g, _ := os.Create(filepath.Join(t.TempDir(), "other.json"))
	other.WriteJSON(g)
	g.Close()
	oneLine(t, "--timings: the report is of module example.com/other, not example.com/m", append(args, "--timings", g.Name())...)
}

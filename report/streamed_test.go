package report

import (
	"os"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/testjson"
)

// TestBuildUsesTheStreamedRun: a result whose test output was parsed as it
// streamed is reported from that parse, not from its capped TestJSON.
func TestBuildUsesTheStreamedRun(t *testing.T) {
	b, err := os.ReadFile("../testjson/testdata/go126-outcomes.json")
	if err != nil {
		t.Fatal(err)
	}
	run := testjson.ParseString(string(b))
	cell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	res := job.Result{Cell: cell, Runtime: "docker", Status: job.StatusFailed, TestJSON: "[... parity: output truncated: 1 bytes cut ...]\n", Run: &run}
	rep := Build(Meta{}, Runs{Cells: []job.Result{res}})
	want := Build(Meta{}, Runs{Cells: []job.Result{{Cell: cell, Runtime: "docker", Status: job.StatusFailed, TestJSON: string(b)}}})
	if len(rep.Tests) == 0 || len(rep.Tests) != len(want.Tests) {
		t.Fatalf("%d rows from the streamed run, %d from the whole stream", len(rep.Tests), len(want.Tests))
	}
}

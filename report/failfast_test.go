package report

import (
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// With -failfast a cell stops at its first failure: the tests it never
// started have no result there and are not compared with the cells that
// ran them, so they are counted as not run, never as divergent.
func TestFailfastDoesNotCompareTestsNotRun(t *testing.T) {
	stopped := `{"Action":"start","Package":"m/p"}
{"Action":"run","Package":"m/p","Test":"TestA"}
{"Action":"output","Package":"m/p","Test":"TestA","Output":"--- FAIL: TestA (0.00s)\n"}
{"Action":"fail","Package":"m/p","Test":"TestA","Elapsed":0}
{"Action":"output","Package":"m/p","Output":"FAIL\n"}
{"Action":"fail","Package":"m/p","Elapsed":0.1}
`
	ran := `{"Action":"start","Package":"m/p"}
{"Action":"run","Package":"m/p","Test":"TestA"}
{"Action":"output","Package":"m/p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"m/p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"m/p","Test":"TestA","Elapsed":0}
{"Action":"run","Package":"m/p","Test":"TestB"}
{"Action":"output","Package":"m/p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"m/p","Test":"TestB","Output":"--- PASS: TestB (0.00s)\n"}
{"Action":"pass","Package":"m/p","Test":"TestB","Elapsed":0}
{"Action":"output","Package":"m/p","Output":"ok\n"}
{"Action":"pass","Package":"m/p","Elapsed":0.1}
`
	musl := matrix.Cell{Go: "1.27.1", Libc: matrix.Musl, Arch: matrix.AMD64}
	glibc := matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}
	r := Build(Meta{Source: Source{Module: "m"}, Options: Options{Packages: []string{"./..."}, Failfast: true}}, Runs{Cells: []job.Result{
		{Cell: musl, Status: job.StatusFailed, Steps: steps(1, ""), TestJSON: stopped},
		{Cell: glibc, Status: job.StatusPassed, Steps: steps(0, ""), TestJSON: ran},
	}})

	for _, d := range r.Divergences {
		if d.Test == "TestB" {
			t.Fatalf("TestB, not run in %s, diverges: %+v", musl, d)
		}
	}
	var divA bool
	for _, d := range r.Divergences {
		divA = divA || d.Test == "TestA"
	}
	if !divA {
		t.Error("TestA, failed in one cell and passed in the other, does not diverge")
	}
	for _, c := range r.Cells {
		if c.Cell == musl && c.Counts.NotRun != 1 {
			t.Errorf("%s counts %+v, want TestB not run", c.Name, c.Counts)
		}
	}
}

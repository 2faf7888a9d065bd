package report

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// testdata/goaxis holds real go test -json output of the module in
// testdata/goaxis/src (go line 1.23) under Go 1.26.8 and Go 1.27.1: Go
// 1.27's go test runs vet's stdversion check and refuses strings.Lines
// (Go 1.24 API), and its Unicode tables are 17.0.0 where Go 1.26 has 15.0.0.
func TestGoAxisCausesFromRealOutput(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "goaxis", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	go126 := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	go127 := matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}
	r := Build(Meta{Source: Source{Module: "example.com/goaxis", GoLine: "1.23"}}, Runs{Cells: []job.Result{
		{Cell: go126, Status: job.StatusPassed, Steps: steps(0, ""), TestJSON: read("go126.json")},
		{Cell: go127, Status: job.StatusFailed, Steps: steps(1, ""), TestJSON: read("go127.json")},
	}})

	want := map[[2]string]string{
		{"example.com/goaxis/sv", ""}:                    "go-stdlib-version",
		{"example.com/goaxis/uni", "TestUnicodeVersion"}: "unicode-tables",
		{"example.com/goaxis/uni", "TestRuneCategory"}:   "unicode-tables",
	}
	if len(r.Divergences) != len(want) {
		t.Errorf("%d divergences, want %d: %+v", len(r.Divergences), len(want), r.Divergences)
	}
	for _, d := range r.Divergences {
		id, ok := want[[2]string{d.Package, d.Test}]
		if !ok {
			t.Errorf("unexpected divergence %s %s", d.Package, d.Test)
			continue
		}
		if len(d.Axes) != 1 || d.Axes[0] != AxisGo || d.Cause.ID != id || d.Cause.Generic || d.Cause.EvidenceCell != go127.String() {
			t.Errorf("%s %s: axes %v cause %+v, want %s from %s", d.Package, d.Test, d.Axes, d.Cause, id, go127)
		}
	}
}

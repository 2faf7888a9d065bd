package pipeline

import (
	"strings"
	"testing"
)

func TestCellLimitFlags(t *testing.T) {
	r := Request{CellMemory: "2GiB", CellPids: 1024, CellCPUs: "1.5", Parallel: 2}
	o, err := r.policy()
	if err != nil {
		t.Fatal(err)
	}
	if o.CellMemory != 2<<30 || o.CellPids != 1024 || o.CellCPUs != 1.5 || o.CellsAtOnce != 2 {
		t.Fatalf("options %+v", o)
	}
	for _, bad := range []struct {
		r    Request
		flag string
	}{
		{Request{CellMemory: "lots"}, "--cell-memory"},
		{Request{CellMemory: "1MiB"}, "--cell-memory"},
		{Request{CellPids: -1}, "--cell-pids"},
		{Request{CellPids: 10}, "--cell-pids"},
		{Request{CellCPUs: "many"}, "--cell-cpus"},
		{Request{CellCPUs: "-2"}, "--cell-cpus"},
		{Request{Parallel: -1}, "--parallel"},
	} {
		_, err := bad.r.policy()
		if err == nil || !strings.HasPrefix(err.Error(), bad.flag+" ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want one line naming %s", bad.r, err, bad.flag)
		}
	}
}

package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// shardOf is the fixture run as shard s would have run it: every cell's
// test stream keeps only the events of s's packages.
func shardOf(t *testing.T, s Shard, pkgs ...string) Report {
	t.Helper()
	keep := map[string]bool{}
	for _, p := range pkgs {
		keep["example.com/fx/"+p] = true
	}
	var cells []job.Result
	for _, res := range fixtureResults(t) {
		var lines []string
		for _, l := range strings.SplitAfter(res.TestJSON, "\n") {
			i := strings.Index(l, `"Package":"`)
			if i < 0 {
				continue
			}
			pkg, _, _ := strings.Cut(l[i+len(`"Package":"`):], `"`)
			if keep[pkg] {
				lines = append(lines, l)
			}
		}
		res.TestJSON = strings.Join(lines, "")
		res.Duration = time.Duration(s.Index) * time.Second
		cells = append(cells, res)
	}
	meta := fixtureMeta()
	meta.CreatedAt = meta.CreatedAt.Add(time.Duration(s.Index) * time.Minute)
	r := Build(meta, Runs{Cells: cells})
	s.Packages = pkgs
	r.Shard = &s
	return r
}

func TestMergeFoldsShardsIntoTheWholeRun(t *testing.T) {
	whole := fixtureReport(t)
	one := shardOf(t, Shard{Index: 1, Total: 3}, "basic")
	two := shardOf(t, Shard{Index: 2, Total: 3}, "platform", "racy")
	three := shardOf(t, Shard{Index: 3, Total: 3}, "cgostack")
	// Alone, a shard sees a fraction of the rows.
	if len(one.Tests) >= len(whole.Tests) {
		t.Fatalf("shard 1 has %d rows, the whole run %d", len(one.Tests), len(whole.Tests))
	}
	merged, err := Merge(three, one, two)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct {
		name      string
		got, want any
	}{
		{"tests", merged.Tests, whole.Tests},
		{"divergences", merged.Divergences, whole.Divergences},
		{"verdict", merged.Conclusion, whole.Conclusion},
		{"flaky", merged.Flaky, whole.Flaky},
		{"options", merged.Options, whole.Options},
	} {
		if got, want := anyJSON(t, part.got), anyJSON(t, part.want); got != want {
			t.Errorf("%s of the folded shards differ from the whole run:\n%s", part.name, firstDiff(got, want))
		}
	}
	if merged.Shard != nil {
		t.Errorf("merged report is still shard %s", merged.Shard)
	}
	if len(merged.Cells) != len(whole.Cells) {
		t.Fatalf("%d cells, want %d", len(merged.Cells), len(whole.Cells))
	}
	for i, c := range merged.Cells {
		w := whole.Cells[i]
		if c.Name != w.Name || c.Status != w.Status || c.Counts != w.Counts {
			t.Errorf("cell %s: status %s counts %+v; the whole run's %s: %s %+v", c.Name, c.Status, c.Counts, w.Name, w.Status, w.Counts)
		}
		// Wall time: the longest shard's; every shard's steps, tagged.
		if len(w.Steps) == 0 {
			continue
		}
		if c.DurationSeconds != 3 || len(c.Steps) != 3*len(w.Steps) || c.Steps[0].Shard != "1/3" || c.Steps[len(c.Steps)-1].Shard != "3/3" {
			t.Errorf("cell %s: duration %v, %d steps (first of shard %q, last %q)", c.Name, c.DurationSeconds, len(c.Steps), c.Steps[0].Shard, c.Steps[len(c.Steps)-1].Shard)
		}
	}
	if len(merged.MergedFrom) != 3 || merged.MergedFrom[0].Shard == nil || merged.MergedFrom[0].Shard.String() != "1/3" {
		t.Errorf("mergedFrom = %+v, want the three shards in order", merged.MergedFrom)
	}
	if !merged.CreatedAt.Equal(three.CreatedAt) {
		t.Errorf("createdAt %v, want the latest shard's %v", merged.CreatedAt, three.CreatedAt)
	}
}

// A folded cell merges with cells that were not sharded, and a shard
// that stopped early leaves its cell uncompared.
func TestFoldedCellsMergeWithWholeCells(t *testing.T) {
	only := func(r Report, arch matrix.Arch) Report {
		var cells []Cell
		for _, c := range r.Cells {
			if c.Cell.Arch == arch {
				cells = append(cells, c)
			}
		}
		r.Cells = cells
		for i := range r.Tests {
			var res []Result
			for _, x := range r.Tests[i].Results {
				if strings.HasSuffix(x.Cell, "/"+string(arch)) {
					res = append(res, x)
				}
			}
			r.Tests[i].Results = res
		}
		return r
	}
	whole := fixtureReport(t)
	one := only(shardOf(t, Shard{Index: 1, Total: 2}, "basic", "platform"), matrix.ARM64)
	two := only(shardOf(t, Shard{Index: 2, Total: 2}, "cgostack", "racy"), matrix.ARM64)
	amd := only(fixtureReport(t), matrix.AMD64)
	merged, err := Merge(amd, two, one)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := anyJSON(t, merged.Divergences), anyJSON(t, whole.Divergences); got != want {
		t.Errorf("divergences differ from the whole run:\n%s", firstDiff(got, want))
	}

	two.Cells[0].Status, two.Cells[0].Message = job.StatusRuntimeLost, "the daemon went away"
	lost, err := Merge(amd, one, two)
	if err != nil {
		t.Fatal(err)
	}
	var arm Cell
	for _, c := range lost.Cells {
		if c.Cell.Arch == matrix.ARM64 {
			arm = c
		}
	}
	if arm.Status != job.StatusRuntimeLost || arm.Message != "shard 2/2: the daemon went away" {
		t.Errorf("folded arm64 cell: %s %q, want runtime-lost from shard 2/2", arm.Status, arm.Message)
	}
	for _, d := range lost.Divergences {
		if d.Test == "TestFusedMultiplyAdd" {
			t.Error("a cell whose shard was lost is still compared")
		}
	}
}

func TestMergeRefusesBrokenShardSets(t *testing.T) {
	one := shardOf(t, Shard{Index: 1, Total: 3}, "basic")
	two := shardOf(t, Shard{Index: 2, Total: 3}, "platform", "racy")
	three := shardOf(t, Shard{Index: 3, Total: 3}, "cgostack")
	overlap := shardOf(t, Shard{Index: 3, Total: 3}, "cgostack", "basic")
	otherSplit := shardOf(t, Shard{Index: 2, Total: 2}, "cgostack")
	bad := shardOf(t, Shard{Index: 4, Total: 3}, "cgostack")
	for _, c := range []struct {
		name string
		in   []Report
		want string
	}{
		{"missing", []Report{one, three}, "merge: cell go1.26.8/glibc/amd64 lacks shard 2/3: merge every shard of the cell"},
		{"two missing", []Report{two}, "lacks shard 1/3, 3/3"},
		{"doubled", []Report{one, two, three, two}, "merge: cell go1.26.8/glibc/amd64 has shard 2/3 twice (reports 2 and 4): keep one"},
		{"two splits", []Report{one, two, three, otherSplit}, "has shards of two splits (1/3 in report 1, 2/2 in report 4)"},
		{"a package in two shards", []Report{one, two, overlap}, "merge: package example.com/fx/basic is in shard 1/3 and shard 3/3 of cell"},
		{"index out of range", []Report{one, two, bad}, "merge: report 3 is shard 4/3"},
		{"whole and sharded", []Report{fixtureReport(t), one, two, three}, "is in report 1 and in shards of it"},
	} {
		_, err := Merge(c.in...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", c.name, err)
		}
	}
}

func anyJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

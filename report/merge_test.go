package report

import (
	"strings"
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// splitByArch builds one report per architecture, as two hosts would.
func splitByArch(t *testing.T) (amd, arm Report) {
	var a, b []job.Result
	for _, res := range fixtureResults(t) {
		if res.Cell.Arch == matrix.ARM64 {
			b = append(b, res)
		} else {
			a = append(a, res)
		}
	}
	meta := fixtureMeta()
	amd = Build(meta, Runs{Cells: a})
	meta.CreatedAt = meta.CreatedAt.Add(time.Minute)
	meta.Tool.Version = "0.1.1-test"
	arm = Build(meta, Runs{Cells: b})
	return amd, arm
}

func TestMergeEqualsOneRun(t *testing.T) {
	amd, arm := splitByArch(t)
	// Alone, the amd64 report cannot see the arm64-only FMA divergence.
	for _, d := range amd.Divergences {
		if d.Test == "TestFusedMultiplyAdd" {
			t.Fatal("amd64 report has the FMA divergence")
		}
	}
	merged, err := Merge(arm, amd)
	if err != nil {
		t.Fatal(err)
	}
	whole := fixtureReport(t)
	// Provenance differs by design; everything else must be equal.
	if len(merged.MergedFrom) != 2 || merged.MergedFrom[0].Tool.Version != "0.1.1-test" || len(merged.MergedFrom[1].Cells) != 3 {
		t.Errorf("MergedFrom = %+v", merged.MergedFrom)
	}
	if !merged.CreatedAt.Equal(arm.CreatedAt) {
		t.Errorf("CreatedAt = %v, want the latest (%v)", merged.CreatedAt, arm.CreatedAt)
	}
	merged.MergedFrom, merged.CreatedAt, merged.Tool = nil, whole.CreatedAt, whole.Tool
	if got, want := jsonOf(t, merged), jsonOf(t, whole); got != want {
		t.Errorf("merged report differs from the single run:\n%s", firstDiff(got, want))
	}
}

func TestMergeOfMergedReports(t *testing.T) {
	amd, arm := splitByArch(t)
	merged, err := Merge(amd)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Merge(merged, arm)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.MergedFrom) != 2 || len(again.Cells) != 4 {
		t.Errorf("MergedFrom %d, cells %d; want 2 and 4", len(again.MergedFrom), len(again.Cells))
	}
}

func TestMergeRefuses(t *testing.T) {
	amd, arm := splitByArch(t)
	amd.Source.GoSum, amd.Source.Pins, amd.Source.Tree = "sha256:aaaa", "sha256:dddd", "dagger:sha256:eeee"
	arm.Source.GoSum, arm.Source.Pins, arm.Source.Tree = "sha256:aaaa", "sha256:dddd", "dagger:sha256:eeee"
	for _, c := range []struct {
		name   string
		change func(*Report)
		want   string
	}{
		{"schema version", func(r *Report) { r.SchemaVersion = 3 }, "schema version 3, report 1 has 2"},
		{"module", func(r *Report) { r.Source.Module = "example.com/other" }, `module "example.com/other"`},
		{"go line", func(r *Report) { r.Source.GoLine = "1.24" }, "go line"},
		{"revision", func(r *Report) { r.Source.Revision = "fedcba" }, "revision fedcba"},
		{"options", func(r *Report) { r.Options.Count = 3 }, "options"},
		{"same cell", func(r *Report) { r.Cells = append(r.Cells, amd.Cells[0]) }, "cell go1.26.8/glibc/amd64 is in report 1 and report 2"},
		{"same coordinates, other name", func(r *Report) {
			c := amd.Cells[0]
			c.Name = "renamed"
			r.Cells = append(r.Cells, c)
		}, "cell go1.26.8/glibc/amd64 is in report 1 and report 2"},
		{"twice in one report", func(r *Report) { r.Cells = append(r.Cells, r.Cells[0]) }, "is in report 2 twice"},
		{"go.sum", func(r *Report) { r.Source.GoSum = "sha256:bbbb" }, "go.sum"},
		{"pins", func(r *Report) { r.Source.Pins = "sha256:cccc" }, "pins"},
		{"source tree", func(r *Report) { r.Source.Tree = "dagger:sha256:ffff" }, "another source tree"},
	} {
		other := arm
		other.Cells = append([]Cell(nil), arm.Cells...)
		c.change(&other)
		if _, err := Merge(amd, other); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	if _, err := Merge(); err == nil {
		t.Error("Merge() of nothing succeeded")
	}
	// A report without a revision merges with one that has it.
	other := arm
	other.Source.Revision = ""
	m, err := Merge(other, amd)
	if err != nil || m.Source.Revision != amd.Source.Revision {
		t.Errorf("revision-less merge: %v, revision %q", err, m.Source.Revision)
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "line " + itoa(i+1) + ":\n got " + al[i] + "\nwant " + bl[i]
		}
	}
	return "lengths differ"
}

// Reports of one module made from different checkouts, on different
// machines, merge: what identifies the inputs is content, not where it was.
func TestMergeAcrossCheckouts(t *testing.T) {
	amd, arm := splitByArch(t)
	amd.Source.GoSum, amd.Source.Pins, amd.Source.Dir = "sha256:aaaa", "sha256:dddd", ""
	arm.Source.GoSum, arm.Source.Pins, arm.Source.Dir = "sha256:aaaa", "sha256:dddd", ""
	m, err := Merge(amd, arm)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source.GoSum != "sha256:aaaa" || m.Source.Pins != "sha256:dddd" {
		t.Errorf("merged source %+v", m.Source)
	}
	// A report that does not know its go.sum digest (an older Parity) merges.
	arm.Source.GoSum, arm.Source.Pins = "", ""
	if _, err := Merge(amd, arm); err != nil {
		t.Errorf("unknown digests: %v", err)
	}
}

// Two reports whose go.sum digests differ are refused even when the first
// report does not know its own.
func TestMergeRefusesDigestsPastAnUnknownOne(t *testing.T) {
	amd, arm := splitByArch(t)
	old := arm
	old.Cells = nil
	amd.Source.GoSum, arm.Source.GoSum = "sha256:aaaa", "sha256:bbbb"
	if _, err := Merge(old, amd, arm); err == nil || !strings.Contains(err.Error(), "go.sum") {
		t.Fatalf("err = %v", err)
	}
}

package policies

import (
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

func envOf(s job.Spec, key string) string {
	for _, kv := range s.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// TestTmpdirSymlinkInTheNamedCells: --tmpdir-symlink puts TMPDIR behind a
// symlink in the cells its patterns name, says so with the case-insensitive
// file system it cannot offer, and leaves every other cell as it was.
func TestTmpdirSymlinkInTheNamedCells(t *testing.T) {
	amd64Only := Options{TmpdirSymlink: []matrix.Cell{{Arch: matrix.AMD64}}}
	s := plan(t, glibcAMD64, amd64Only, docker)
	if got := envOf(s, "TMPDIR"); got != "/proc/self/root/tmp" {
		t.Errorf("TMPDIR = %q in a named cell, want /proc/self/root/tmp", got)
	}
	// testing's TempDir creates its directory in GOTMPDIR when set.
	if envOf(s, "GOTMPDIR") != SymlinkedTmpDir || envOf(s, "HOME") != TmpDir {
		t.Errorf("want GOTMPDIR %s and HOME %s: %v", SymlinkedTmpDir, TmpDir, s.Env)
	}
	if d := decision(t, s, IDTmpdirSymlink); d.Effect != "symlink" || !strings.Contains(d.Reason, "/private/var") {
		t.Errorf("decision %+v", d)
	}
	if d := decision(t, s, IDCasefold); d.Effect != "not-offered" || !strings.Contains(d.Reason, "casefold") {
		t.Errorf("decision %+v", d)
	}

	other := plan(t, glibcARM64, amd64Only, docker)
	if envOf(other, "TMPDIR") != TmpDir || envOf(other, "GOTMPDIR") != TmpDir {
		t.Errorf("a cell no pattern names: %v, want TMPDIR and GOTMPDIR %s", other.Env, TmpDir)
	}
	if slices.ContainsFunc(other.Decisions, func(d job.Decision) bool { return d.Policy == IDTmpdirSymlink || d.Policy == IDCasefold }) {
		t.Errorf("decisions of a cell no pattern names: %+v", other.Decisions)
	}
	if got := envOf(plan(t, muslARM64, Options{TmpdirSymlink: []matrix.Cell{AllCells}}, dagger), "TMPDIR"); got != SymlinkedTmpDir {
		t.Errorf("all: TMPDIR = %q, want %s", got, SymlinkedTmpDir)
	}
	if got := envOf(plan(t, glibcAMD64, Options{}, docker), "TMPDIR"); got != TmpDir {
		t.Errorf("without the option TMPDIR = %q", got)
	}
}

func TestMatchesAny(t *testing.T) {
	cells := []matrix.Cell{glibcAMD64, muslARM64}
	for pat, want := range map[matrix.Cell]bool{
		AllCells:                                true,
		{Arch: matrix.ARM64}:                    true,
		{Libc: matrix.Glibc}:                    true,
		{Arch: matrix.S390X}:                    false,
		{Go: "1.26.8"}:                          false,
		{Libc: matrix.Musl, Arch: matrix.AMD64}: false,
	} {
		if got := MatchesAny(cells, pat); got != want {
			t.Errorf("MatchesAny(%+v) = %v, want %v", pat, got, want)
		}
	}
}

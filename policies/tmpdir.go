package policies

import (
	"slices"

	"github.com/parity-ci/parity/matrix"
)

// Policy ids of the macOS-like file system options.
const (
	IDTmpdirSymlink = "tmpdir-symlink"
	IDCasefold      = "case-insensitive-fs"
)

// SymlinkedTmpDir is TMPDIR and GOTMPDIR (which t.TempDir prefers) in the
// cells --tmpdir-symlink names: /tmp
// reached through /proc/self/root, a symlink to / that every Linux
// container has. A path under it is not its resolved path, as macOS's
// TMPDIR (/var/folders/..., /var a symlink to /private/var) is not: the
// kernel makes the link, so it needs no setup step, no write to the image,
// and holds in every step and re-run of the cell, on any runtime.
const SymlinkedTmpDir = "/proc/self/root" + TmpDir

// symlinkedTmp reports whether the user's --tmpdir-symlink patterns name
// this cell (an empty pattern, "all", names every cell).
func (p *planner) symlinkedTmp() bool {
	return len(p.opt.TmpdirSymlink) > 0 && len(matrix.Filter([]matrix.Cell{p.cell}, p.opt.TmpdirSymlink)) > 0
}

// tmpdir decides TMPDIR for the cell, and says what a macOS-like cell
// still lacks.
func (p *planner) tmpdir() string {
	if !p.symlinkedTmp() {
		return TmpDir
	}
	p.decide(IDTmpdirSymlink, "symlink", "TMPDIR=GOTMPDIR=%s (t.TempDir uses GOTMPDIR first): the temporary directory is reached through a symlink (/proc/self/root -> /), as macOS's is through /var -> /private/var, so t.TempDir() and os.TempDir() differ from their resolved paths (filepath.EvalSymlinks, os.Getwd after os.Chdir); HOME stays %s", SymlinkedTmpDir, TmpDir)
	p.decide(IDCasefold, "not-offered", "a case-insensitive file system, macOS's default, is not offered: it needs tmpfs casefold (Linux 6.13 or later built with CONFIG_UNICODE), which the kernel of Parity's CI refuses (6.18: \"tmpfs: Kernel not built with CONFIG_UNICODE\"); tests that create both a.txt and A.txt pass here and may fail on macOS")
	return SymlinkedTmpDir
}

// AllCells is the --tmpdir-symlink pattern that names every cell.
var AllCells = matrix.Cell{}

// MatchesAny reports whether any of cells fits one of the patterns: a
// pattern that names no cell of the matrix is a typo to refuse.
func MatchesAny(cells []matrix.Cell, pattern matrix.Cell) bool {
	return slices.ContainsFunc(cells, func(c matrix.Cell) bool {
		return len(matrix.Filter([]matrix.Cell{c}, []matrix.Cell{pattern})) > 0
	})
}

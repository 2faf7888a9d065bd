// Package tempdir compares a temporary directory with its resolved path,
// which macOS makes differ: its TMPDIR lives under /var, a symlink to
// /private/var.
package tempdir

import (
	"path/filepath"
	"testing"
)

// TestTempDirIsResolved fails wherever TMPDIR is reached through a symlink.
func TestTempDirIsResolved(t *testing.T) {
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if real != dir {
		t.Fatalf("t.TempDir() = %s, but it resolves to %s", dir, real)
	}
}

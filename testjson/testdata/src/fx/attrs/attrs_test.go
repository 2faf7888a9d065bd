//go:build go1.26

// Package attrs uses t.Attr (Go 1.25) and t.ArtifactDir (Go 1.26).
package attrs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAttr(t *testing.T) {
	t.Attr("issue", "PAR-123")
}

func TestArtifacts(t *testing.T) {
	dir := t.ArtifactDir()
	if err := os.WriteFile(filepath.Join(dir, "out.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Package scribbler writes beside its sources, as some real suites do, and
// tries to change the module's go.mod: with --source-mode=copy the first
// works and the second must not.
package scribbler

import (
	"os"
	"testing"
)

func TestWritesBesideSources(t *testing.T) {
	if err := os.WriteFile("beside.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../go.mod", []byte("module evil\n"), 0o644); err == nil {
		t.Fatal("go.mod was writable")
	}
}

package modcheck

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestModuleLoadsAfterDaggerCodegen runs the engine's go.mod step on this
// repository's module and builds it: red when a dependency bump makes the
// SDK's replaces break the build (otel v1.47 vs otel/log v0.16.0: an
// import cycle), as it did on a real engine.
func TestModuleLoadsAfterDaggerCodegen(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	deps, err := Codegen(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The module drives Dagger, never Docker: the Docker Engine client has
	// no place in its build.
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/docker/docker/") || strings.HasPrefix(p, "github.com/moby/moby/") {
			t.Errorf("the Dagger module builds %s: keep the Docker client out of the packages ci/ imports", p)
		}
	}
}

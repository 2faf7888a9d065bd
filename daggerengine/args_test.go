package daggerengine

import (
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
)

// cacheVolumes plans one cell on Dagger for a source and returns the cache
// volume names its steps mount.
func cacheVolumes(t *testing.T, goMod, goSum string) []string {
	t.Helper()
	r, err := pipeline.Args{Go: []string{"1.27.1"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}}.
		Request(pipeline.Host{Arch: "amd64", SourceID: SourceID})
	if err != nil {
		t.Fatal(err)
	}
	in, err := r.Inputs([]byte(goMod), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.MakePlan(in, policies.Traits{Name: "dagger", NativeArch: matrix.AMD64})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range p.Specs[0].Mounts {
		if m.Kind == job.MountCache {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		t.Fatal("no cache volumes")
	}
	return names
}

// TestCacheVolumesSurviveADependencyBump: the volumes were named after a
// digest of go.mod and go.sum, so every dependency bump started every cell
// cold. They are now named after the module path (and --cache-scope), as
// safe as that is: only steps that run none of the module's code write
// them, and the test step reads copies (TestTestStepReadsCopies).
func TestCacheVolumesSurviveADependencyBump(t *testing.T) {
	const mod = "module example.com/m\n\ngo 1.26\n"
	a := cacheVolumes(t, mod+"\nrequire example.com/dep v1.0.0\n", "example.com/dep v1.0.0 h1:aaa=\n")
	bumped := cacheVolumes(t, mod+"\nrequire example.com/dep v1.1.0\n", "example.com/dep v1.1.0 h1:bbb=\n")
	if !slices.Equal(a, bumped) {
		t.Errorf("a dependency bump changed the volumes: %v, then %v", a, bumped)
	}
	other := cacheVolumes(t, "module example.com/other\n\ngo 1.26\n", "")
	for _, n := range a {
		if slices.Contains(other, n) && !strings.HasPrefix(n, policies.StdSeedPrefix) {
			t.Errorf("volume %s is shared by two modules", n)
		}
	}
}

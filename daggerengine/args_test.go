package daggerengine

import (
	"slices"
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
		Request(pipeline.Host{Arch: "amd64", SourceID: SourceID([]byte(goMod), []byte(goSum))})
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

// TestProjectsNeverShareCaches: on an engine the cache scope was the module
// path alone, so two projects named example.com/m shared GOCACHE and the
// module cache. The source's go.mod and go.sum now take part.
func TestProjectsNeverShareCaches(t *testing.T) {
	const mod = "module example.com/m\n\ngo 1.26\n"
	a := cacheVolumes(t, mod, "example.com/dep v1.0.0 h1:aaa=\n")
	b := cacheVolumes(t, mod, "example.com/other v1.2.0 h1:bbb=\n")
	c := cacheVolumes(t, mod+"\nrequire example.com/dep v1.0.0\n", "")
	for _, n := range a {
		if slices.Contains(b, n) || slices.Contains(c, n) {
			t.Errorf("volume %s is shared by two projects named example.com/m", n)
		}
	}
	// The same source keeps its caches from one call to the next.
	if again := cacheVolumes(t, mod, "example.com/dep v1.0.0 h1:aaa=\n"); !slices.Equal(a, again) {
		t.Errorf("the same source got other volumes: %v, then %v", a, again)
	}
}

package policies

import (
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
)

func TestSourceModeCopy(t *testing.T) {
	ro := plan(t, glibcAMD64, Options{}, docker)
	if slices.ContainsFunc(ro.Mounts, func(m job.Mount) bool { return m.Kind == job.MountSourceCopy }) {
		t.Fatal("read-only is the default: no source copy unless asked for")
	}
	if d := decision(t, ro, IDSource); d.Effect != "read-only" || !strings.Contains(d.Reason, "--source-mode=copy") {
		t.Errorf("default decision %+v: want read-only, naming the level that lets writing suites run", d)
	}

	s := plan(t, glibcAMD64, Options{SourceMode: SourceCopy}, docker)
	var cp *job.Mount
	for i, m := range s.Mounts {
		if m.Kind == job.MountSourceCopy {
			cp = &s.Mounts[i]
		}
		if m.Kind == job.MountSource && !m.ReadOnly {
			t.Error("the module itself must stay read-only in copy mode")
		}
	}
	if cp == nil {
		t.Fatalf("no source copy mount: %+v", s.Mounts)
	}
	if !slices.Equal(cp.Keep, []string{"go.mod", "go.sum"}) || cp.Target != CopyDir || cp.SizeBytes == 0 {
		t.Errorf("copy mount %+v: want go.mod and go.sum kept read-only, a sized scratch area at %s", *cp, CopyDir)
	}
	for _, st := range s.Steps {
		in := cp.In(st.Name)
		wrapped := strings.Contains(strings.Join(st.Args, " "), "cp -pR")
		// The build step compiles where the tests run: the build cache
		// keys the module's packages by their directory.
		want := st.Name == job.StepTest || st.Name == job.StepBuild
		if in != want || wrapped != want {
			t.Errorf("step %s: sees the copy %v, copies %v; want only the build and test steps", st.Name, in, wrapped)
		}
	}
	if d := decision(t, s, IDSource); d.Effect != "copy" {
		t.Errorf("decision %+v", d)
	}
	if _, err := ParseSourceMode("scratch"); err == nil {
		t.Error("an unknown source mode must be refused")
	}
}

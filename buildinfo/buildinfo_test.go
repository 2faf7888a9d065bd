package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "false"}}
	for name, tc := range map[string]struct {
		bi   debug.BuildInfo
		want string
	}{
		"installed at a version": {debug.BuildInfo{Main: debug.Module{Path: Module, Version: "v0.3.1"}}, "v0.3.1"},
		"pseudo-version":         {debug.BuildInfo{Main: debug.Module{Path: Module, Version: "v0.3.2-0.20261127120000-0123456789ab"}}, "v0.3.2-0.20261127120000-0123456789ab"},
		"in its own tree":        {debug.BuildInfo{Main: debug.Module{Path: Module, Version: "(devel)"}, Settings: vcs}, "0123abcd"},
		"dirty tree":             {debug.BuildInfo{Main: debug.Module{Path: Module, Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}}, "0123abcd+dirty"},
		"a dependency":           {debug.BuildInfo{Main: debug.Module{Path: "dagger/ci"}, Deps: []*debug.Module{{Path: "dagger.io/dagger", Version: "v0.21.8"}, {Path: Module, Version: "v0.4.0"}}}, "v0.4.0"},
		"a dependency replaced":  {debug.BuildInfo{Main: debug.Module{Path: "dagger/ci"}, Deps: []*debug.Module{{Path: Module, Version: "v0.0.0", Replace: &debug.Module{Path: "../"}}}, Settings: vcs}, "0123abcd"},
		"nothing known":          {debug.BuildInfo{Main: debug.Module{Path: "dagger/ci"}, Deps: []*debug.Module{{Path: Module, Version: "v0.0.0", Replace: &debug.Module{Path: "../"}}}}, "dev"},
		"another program":        {debug.BuildInfo{Main: debug.Module{Path: "example.com/x", Version: "v9.9.9"}}, "dev"},
	} {
		if got := fromBuildInfo(&tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
	if Version() == "" {
		t.Error("empty version")
	}
}

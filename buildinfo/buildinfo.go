// Package buildinfo says which Parity wrote a report, from what the Go
// toolchain embedded in the binary: both front doors (the parity command
// and the Dagger module, which builds Parity as a dependency) call Version.
package buildinfo

import (
	"runtime/debug"
)

// Module is Parity's module path.
const Module = "github.com/parity-ci/parity"

// Version is Parity's version in this binary: its module version when
// built as a released module (go install ...@v1.2.3, or as a dependency),
// else the VCS revision the build recorded ("+dirty" when modified), else
// "dev".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) string {
	mod := &bi.Main
	if mod.Path != Module {
		mod = nil
		for _, d := range bi.Deps {
			if d.Path == Module {
				mod = d
				break
			}
		}
	}
	if mod != nil {
		if mod.Replace != nil && released(mod.Replace.Version) {
			return mod.Replace.Version
		}
		if mod.Replace == nil && released(mod.Version) {
			return mod.Version
		}
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "dev"
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return rev
}

// released reports whether v names a version: not "(devel)" (a build in
// the module's own tree) nor the v0.0.0 a local replace is required at.
func released(v string) bool {
	return v != "" && v != "(devel)" && v != "v0.0.0"
}

package policies

import (
	"fmt"
	"strings"
	"time"

	"github.com/parity-ci/parity/matrix"
)

// Mode is a tri-state switch: auto lets the policy decide per cell.
type Mode string

const (
	Auto Mode = "auto"
	On   Mode = "on"
	Off  Mode = "off"
)

// ParseMode accepts auto/on/off and the boolean spellings.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "on", "true", "1", "yes":
		return On, nil
	case "off", "false", "0", "no":
		return Off, nil
	}
	return "", fmt.Errorf("bad value %q (want auto, on or off)", s)
}

// PtraceLevel is how much process tracing tests may do.
type PtraceLevel string

const (
	PtraceAuto     PtraceLevel = ""         // attach where the runtime can grant SYS_PTRACE alone, else children
	PtraceOff      PtraceLevel = "off"      // no capability asked for
	PtraceChildren PtraceLevel = "children" // trace own children: needs no capability
	PtraceAttach   PtraceLevel = "attach"   // CAP_SYS_PTRACE: attach to any process in the cell
)

// ParsePtrace accepts the level names.
func ParsePtrace(s string) (PtraceLevel, error) {
	switch l := PtraceLevel(strings.ToLower(strings.TrimSpace(s))); l {
	case PtraceAuto, PtraceOff, PtraceChildren, PtraceAttach:
		return l, nil
	case "auto":
		return PtraceAuto, nil
	}
	return "", fmt.Errorf("bad ptrace level %q (want off, children or attach)", s)
}

// Options are the user's choices that shape every cell.
type Options struct {
	GoModGo     string        // the go line of the module's go.mod
	Packages    []string      // default ./...
	Run         string        // go test -run
	Race        Mode          // auto: on wherever it can work
	Cgo         Mode          // auto: on (race needs it; it is how most glibc builds run)
	Ptrace      PtraceLevel   // see PtraceLevel
	Count       int           // go test -count; 0 leaves go's default
	Shuffle     string        // go test -shuffle: "", on, off or a seed
	TestTimeout time.Duration // go test -timeout; 0 leaves go's default (10m)
	CellTimeout time.Duration // whole cell, all steps; 0 = none

	TmpfsBytes int64  // size cap of /tmp; default 2 GiB
	User       string // uid:gid of probe, deps and test; default 65534:65534
	CacheScope string // prefix of cache volume names; default "parity"

	// DepsEnv is passed to the deps step only (GOPROXY, GOPRIVATE,
	// GONOSUMDB, HTTPS_PROXY, ...): never to tests, which run offline.
	DepsEnv  map[string]string
	CABundle string // host path of extra CA certificates for the deps step
}

// Traits are what a runtime can and cannot honour; policies decide with them.
type Traits struct {
	Name             string      // "docker" or "dagger"
	ReadOnlyRootfs   bool        // can mount the image's root read-only
	SingleCapability bool        // can grant one capability and drop the rest
	NetworkPerStep   bool        // can cut the network off for one step
	NativeArch       matrix.Arch // others run under emulation
}

func (o Options) withDefaults() Options {
	if len(o.Packages) == 0 {
		o.Packages = []string{"./..."}
	}
	if o.Race == "" {
		o.Race = Auto
	}
	if o.Cgo == "" {
		o.Cgo = Auto
	}
	if o.TmpfsBytes == 0 {
		o.TmpfsBytes = 2 << 30
	}
	if o.User == "" {
		o.User = "65534:65534"
	}
	if o.CacheScope == "" {
		o.CacheScope = "parity"
	}
	return o
}

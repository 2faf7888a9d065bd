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
	PtraceOff      PtraceLevel = "off"      // no capability, and ptrace refused by seccomp where the runtime can
	PtraceChildren PtraceLevel = "children" // no capability: same-uid tracing, as the default seccomp profile allows
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

// SourceMode is how tests see the module's files.
type SourceMode string

const (
	SourceReadOnly SourceMode = "readonly" // the default: mounted read-only
	SourceCopy     SourceMode = "copy"     // a writable scratch copy per test step; go.mod and go.sum read-only
)

// ParseSourceMode accepts the mode names ("" is readonly).
func ParseSourceMode(s string) (SourceMode, error) {
	switch m := SourceMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", SourceReadOnly:
		return SourceReadOnly, nil
	case SourceCopy:
		return m, nil
	}
	return "", fmt.Errorf("bad source mode %q (want readonly or copy)", s)
}

// Trust says whether a run may write the caches later runs read
// (--cache-trust): the default branch's runs may, a pull request's (or a
// fork's) may not.
type Trust string

const (
	TrustAuto Trust = "auto"      // from the CI's environment (pipeline.ResolveTrust)
	Trusted   Trust = "trusted"   // may write the caches later runs read
	Untrusted Trust = "untrusted" // reads the caches, writes nothing a later run reads
)

// ParseTrust accepts auto, trusted and untrusted ("" is auto).
func ParseTrust(s string) (Trust, error) {
	switch t := Trust(strings.ToLower(strings.TrimSpace(s))); t {
	case "", TrustAuto:
		return TrustAuto, nil
	case Trusted, Untrusted:
		return t, nil
	}
	return "", fmt.Errorf("bad value %q (want auto, trusted or untrusted)", s)
}

// Options are the user's choices that shape every cell.
type Options struct {
	GoModGo     string        // the go line of the module's go.mod
	Packages    []string      // default ./...
	Run         string        // go test -run
	Skip        string        // go test -skip
	Tags        []string      // go test -tags
	Short       bool          // go test -short
	Failfast    bool          // go test -failfast
	Race        Mode          // auto: on wherever it can work
	Cgo         Mode          // auto: on (race needs it; it is how most glibc builds run)
	Ptrace      PtraceLevel   // see PtraceLevel
	Count       int           // go test -count; 0 leaves go's default
	Shuffle     string        // go test -shuffle: "", on, off or a seed
	TestTimeout time.Duration // go test -timeout; 0 leaves go's default (10m)
	CellTimeout time.Duration // whole cell, all steps; 0 = none

	// Compile lists the GOOS/GOARCH targets this cell builds every test
	// package for, running nothing (--compile); the pipeline gives them to
	// one cell per Go version.
	Compile []matrix.Target

	// TmpdirSymlink names the cells whose TMPDIR is reached through a
	// symlink, as on macOS (--tmpdir-symlink; patterns as matrix.Filter
	// takes them, the empty pattern every cell); none when empty.
	TmpdirSymlink []matrix.Cell

	SourceMode SourceMode // readonly (default) or copy
	TmpfsBytes int64      // size cap of /tmp (and of the copy); default 2 GiB
	User       string     // uid:gid of probe, deps and test; default 65534:65534
	CacheScope string     // prefix of cache volume names: per project (pipeline.DefaultCacheScope); "parity" when unset
	// CacheTrust is whether this run may write the caches later runs read
	// (resolved: trusted or untrusted; "" is trusted).
	CacheTrust Trust
	// PrivateSeeds names the standard library seeds in CacheScope, as the
	// run's own, instead of the machine's: an untrusted run that restores a
	// cache directory fills volumes no later run reads.
	PrivateSeeds bool
	// TrustReason says where CacheTrust came from, for its decision
	// ("a pull_request event in GitHub Actions").
	TrustReason string

	// DepsEnv is passed to the deps step only (GOPROXY, GOPRIVATE,
	// GONOSUMDB, HTTPS_PROXY, ...): never to tests, which run offline.
	DepsEnv  map[string]string
	CABundle string // host path of extra CA certificates for the deps step
	// DepsSecrets name the credentials the runtime hands the deps step
	// (never their values), so the deps-env decision lists them.
	DepsSecrets []string

	// Resource limits of each cell (limits.go); 0 = derived from the host.
	CellMemory  int64   // bytes
	CellPids    int64   // processes and threads
	CellCPUs    float64 // cores
	CellsAtOnce int     // cells run at the same time: they share the host's memory
}

// Traits are what a runtime can and cannot honour; policies decide with them.
type Traits struct {
	Name             string      // "docker" or "dagger"
	ReadOnlyRootfs   bool        // can mount the image's root read-only
	SingleCapability bool        // can grant one capability and drop the rest
	NetworkPerStep   bool        // can cut the network off for one step
	NativeArch       matrix.Arch // others run under emulation
	NoNewPrivileges  bool        // can set no-new-privileges on a step (Dagger cannot)
	ReadOnlyCaches   bool        // can mount a cache read-only in one step
	// CacheViews: can give steps a copy-on-write view of a cache volume
	// that lasts the run and is thrown away after it (Docker: an overlay
	// volume). Without it, a step that must not write a cache gets a copy
	// in its own layer (Dagger).
	CacheViews     bool
	SeccompProfile bool // can run a step under a seccomp profile of Parity's
	ResourceLimits bool // can cap one container's memory, processes and CPUs
	// UserTmpfs: a tmpfs it mounts is writable by the steps' user. Dagger
	// mounts each one root-owned, mode 0755 (measured on v0.21.8), so a
	// writable scratch directory there is a directory of the step's own
	// layer, owned by the user.
	UserTmpfs       bool
	HostMemoryBytes int64 // memory of the host the containers run on; 0 = unknown
	HostCPUs        int   // its cores; 0 = unknown

	// Endpoint names the machine these cells run on when the run has more
	// than one, or one that is not this host ("linux/arm64=ssh://u@arm",
	// "default (unix:///var/run/docker.sock)"); "" for the one local
	// daemon. EndpointWhy says why the cell goes there, EndpointLost why
	// it cannot be reached (its cells will not run).
	Endpoint, EndpointWhy, EndpointLost string
	// SourceCopied: the daemon cannot see this host's files, so the
	// source (and the CA bundle, and files of other images) reach it as
	// copies in volumes of its own, mounted read-only.
	SourceCopied bool
	// Platforms are the traits of the machines that run some platforms
	// ("linux/arm64") instead of this one (--endpoint): see For.
	Platforms map[string]Traits
}

// For returns the traits of the machine that runs platform's cells.
func (t Traits) For(platform string) Traits {
	if o, ok := t.Platforms[platform]; ok {
		return o
	}
	return t
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

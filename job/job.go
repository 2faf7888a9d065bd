// Package job is the contract between planning, runtimes and reporting: a
// Spec says what one cell must run and under which rules, a Result says what
// happened. Both are plain data, so the same Spec gives the same Result shape
// whichever runtime (Docker Engine, Dagger) executed it.
package job

import (
	"slices"
	"strings"
	"time"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/testjson"
)

// Decision records one policy's effect on a cell's Spec.
type Decision struct {
	Policy string `json:"policy"` // stable id, e.g. "race"
	Effect string `json:"effect"` // what the policy did, e.g. "off"
	Reason string `json:"reason"` // one line: why
}

// MountKind says where a mount's content comes from.
type MountKind string

const (
	MountSource MountKind = "source" // the user's module, read-only
	MountTmpfs  MountKind = "tmpfs"  // memory, executable, per step
	MountCache  MountKind = "cache"  // a named volume kept between runs
	MountFile   MountKind = "file"   // one host file, read-only (CA bundle)
	// MountSourceCopy is an executable scratch area (tmpfs where the runtime
	// has one) that the step fills with a copy of the source before it runs
	// (see SourceCopyArgs); the source files named in Keep are mounted
	// read-only on top, from the source itself, so they cannot change.
	MountSourceCopy MountKind = "source-copy"
	// MountImagePath is a file or directory copied, read-only, out of
	// another image (Mount.Image for Mount.Platform, at Mount.Path): the
	// --explain experiments that borrow a file from a passing cell's image.
	MountImagePath MountKind = "image-path"
)

// Mount is one filesystem the cell sees besides the image.
type Mount struct {
	Kind      MountKind `json:"kind"`
	Keep      []string  `json:"keep,omitempty"` // source-copy: source files mounted read-only on top of the copy
	Target    string    `json:"target"`
	ReadOnly  bool      `json:"readOnly,omitempty"`
	SizeBytes int64     `json:"sizeBytes,omitempty"` // tmpfs cap
	Name      string    `json:"name,omitempty"`      // cache volume name, per cell
	Owner     string    `json:"owner,omitempty"`     // uid:gid the cache must belong to
	HostPath  string    `json:"hostPath,omitempty"`  // file mounts

	// Image-path mounts (MountImagePath): where the content comes from.
	Image    string `json:"image,omitempty"`    // pinned reference of the other image
	Platform string `json:"platform,omitempty"` // its platform, linux/<arch>
	Path     string `json:"path,omitempty"`     // absolute path in that image
	Dir      bool   `json:"dir,omitempty"`      // Path is a directory

	// Steps, when set, are the only steps that see the mount (the CA
	// bundle: deps only); ReadOnlySteps see it read-only (the module cache
	// in tests, once deps verified it) where the runtime can.
	Steps         []StepName `json:"steps,omitempty"`
	ReadOnlySteps []StepName `json:"readOnlySteps,omitempty"`
}

// In reports whether step n sees the mount.
func (m Mount) In(n StepName) bool { return len(m.Steps) == 0 || slices.Contains(m.Steps, n) }

// ReadOnlyIn reports whether step n sees the mount read-only.
func (m Mount) ReadOnlyIn(n StepName) bool { return m.ReadOnly || slices.Contains(m.ReadOnlySteps, n) }

// StepName identifies the steps every cell runs, in this order.
type StepName string

const (
	StepSetup StepName = "setup" // prepares the image (root, network): cached as a derived image
	StepProbe StepName = "probe" // proves the cell is what it claims
	StepDeps  StepName = "deps"  // go mod download && go mod verify (network on)
	// StepCompile builds every test package for other GOOS/GOARCH targets
	// (--compile), runs nothing; network off. Only in the cells that carry it.
	StepCompile StepName = "compile"
	StepTest    StepName = "test" // go test -json (network off)
)

// SourceCopyArgs wraps a step's argv so it runs in a writable copy of the
// source at dst: every entry of src but the kept files (already mounted
// read-only at dst) is copied, modes and times kept, then argv runs there.
// POSIX sh and cp only: Alpine's busybox has both.
func SourceCopyArgs(src, dst string, keep []string, argv []string) []string {
	skip := strings.Join(keep, "|")
	if skip == "" {
		skip = "/" // matches no file name
	}
	script := `src=$1 dst=$2; shift 2
cd "$src" || exit 125
for e in * .[!.]* ..?*; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  case "$e" in ` + skip + `) continue ;; esac
  cp -pR "$e" "$dst/" || { echo "parity: copying the source into $dst failed" >&2; exit 125; }
done
cd "$dst" && exec "$@"`
	return append([]string{"sh", "-c", script, "sh", src, dst}, argv...)
}

// Step is one command run in a fresh container from the cell's image.
type Step struct {
	Name    StepName `json:"name"`
	Args    []string `json:"args"`
	Env     []string `json:"env,omitempty"`  // KEY=VALUE added to Spec.Env for this step only
	Network bool     `json:"network"`        // false: no network at all where the runtime can
	Root    bool     `json:"root,omitempty"` // run as root instead of Spec.User (setup only)
	// Test is the test step's go test as data; Args is its rendering
	// (TestCommand.Args). Re-runs change Test and render it again.
	Test *TestCommand `json:"testCommand,omitempty"`
}

// Spec is everything a runtime needs to run one cell.
type Spec struct {
	Cell     matrix.Cell `json:"cell"`
	Image    string      `json:"image"`    // repo:tag@sha256:<index digest>
	Platform string      `json:"platform"` // linux/<arch>
	Env      []string    `json:"env"`      // KEY=VALUE, sorted
	Workdir  string      `json:"workdir"`
	User     string      `json:"user"` // uid:gid for probe, deps and test
	Mounts   []Mount     `json:"mounts"`

	ReadOnlyRootfs  bool     `json:"readOnlyRootfs"`
	NoNewPrivileges bool     `json:"noNewPrivileges"`
	Capabilities    []string `json:"capabilities"` // granted; every other one dropped where the runtime can
	// InsecureRoot asks for all capabilities and no seccomp: the only way
	// Dagger can grant SYS_PTRACE. Steps then run as root.
	InsecureRoot bool `json:"insecureRoot,omitempty"`
	// DenyPtrace refuses ptrace, process_vm_readv and process_vm_writev
	// (seccomp) where the runtime can: --ptrace=off.
	DenyPtrace bool `json:"denyPtrace,omitempty"`

	// Resource limits of every step's container; 0 = none. Set by the
	// limits policies; a runtime that cannot apply one says so there.
	MemoryBytes int64   `json:"memoryBytes,omitempty"`
	PidsLimit   int64   `json:"pidsLimit,omitempty"`
	CPUs        float64 `json:"cpus,omitempty"`

	Steps   []Step        `json:"steps"`
	Timeout time.Duration `json:"timeout"` // whole cell; 0 = none
	Race    bool          `json:"race"`

	// NotRunnable, when set, says why the cell is reported without running.
	NotRunnable string     `json:"notRunnable,omitempty"`
	Decisions   []Decision `json:"decisions"`
}

// Status is a cell's overall result.
type Status string

const (
	StatusPassed      Status = "passed"       // every test passed or skipped
	StatusFailed      Status = "failed"       // tests ran; some failed, panicked, timed out or did not build
	StatusNotRunnable Status = "not-runnable" // refused before running (e.g. toolchain too old)
	StatusEnvMismatch Status = "env-mismatch" // the probe disproved the cell's claim
	StatusDepsFailed  Status = "deps-failed"  // go mod download or verify failed
	StatusTimeout     Status = "timeout"      // the cell ran out of its time
	StatusError       Status = "error"        // the runtime failed (image, daemon, ...)
	StatusCancelled   Status = "cancelled"

	// Outcomes that are not the platform's fault: the cell's tests are
	// never compared with other cells', so none of them can diverge.
	StatusKilled        Status = "killed"         // stopped from outside Parity (docker kill, a reboot)
	StatusOutOfMemory   Status = "out-of-memory"  // the kernel's OOM killer acted in the cell (its memory limit)
	StatusResourceLimit Status = "resource-limit" // the cell hit its process limit (pids cgroup)
	StatusRuntimeLost   Status = "runtime-lost"   // the daemon or engine went away mid-step
)

// RanTests reports whether the cell's tests ran (to the end, or until the
// cell's time ran out): their results are reported.
func (s Status) RanTests() bool { return s == StatusPassed || s == StatusFailed || s == StatusTimeout }

// Compared reports whether the cell's results are compared with other
// cells': only when its tests ran to the end. A cell stopped at its
// --cell-timeout is the machine's outcome (emulated cells are slower), like
// one killed: its unfinished tests do not diverge.
func (s Status) Compared() bool { return s == StatusPassed || s == StatusFailed }

// Infrastructure reports whether the status blames the machine the cell
// ran on rather than the code or the platform under test.
func (s Status) Infrastructure() bool {
	switch s {
	case StatusKilled, StatusOutOfMemory, StatusResourceLimit, StatusRuntimeLost, StatusCancelled, StatusError, StatusTimeout:
		return true
	}
	return false
}

// StepResult is what one step printed and how it ended.
type StepResult struct {
	Name       StepName      `json:"name"`
	ExitCode   int           `json:"exitCode"`
	Stdout     string        `json:"stdout,omitempty"`
	Stderr     string        `json:"stderr,omitempty"`
	Duration   time.Duration `json:"duration"`
	CPUSeconds float64       `json:"cpuSeconds,omitempty"` // from the container's cgroup, where known
	Err        string        `json:"error,omitempty"`      // the runtime's own failure, not the command's

	// What the runtime saw from outside the container, never from its
	// output: a test cannot forge these.
	OOMKilled     bool `json:"oomKilled,omitempty"`     // the OOM killer acted in the step's cgroup
	KilledOutside bool `json:"killedOutside,omitempty"` // the container died from a signal Parity did not send
	PidsLimitHit  bool `json:"pidsLimitHit,omitempty"`  // a fork was refused by the pids cgroup limit
	RuntimeLost   bool `json:"runtimeLost,omitempty"`   // the daemon/engine connection broke mid-step
	// Cached is set when the runtime served the step from its cache (the
	// step's own recorded start predates this run); Duration then is the
	// original run's, as the step recorded it.
	Cached bool `json:"cached,omitempty"`
	// Started is when the step began, as it recorded it (where the runtime
	// replays steps from a cache, the original run's start).
	Started time.Time `json:"started,omitzero"`
}

// Result is what happened to one cell.
type Result struct {
	Cell    matrix.Cell `json:"cell"`
	Runtime string      `json:"runtime"`
	Status  Status      `json:"status"`
	Message string      `json:"message,omitempty"` // one line for people

	Image          string            `json:"image"`                    // the pinned reference
	PlatformDigest string            `json:"platformDigest,omitempty"` // manifest actually run
	Probe          map[string]string `json:"probe,omitempty"`

	Steps []StepResult `json:"steps"`
	// TestJSON is the test step's stdout: the `go test -json` stream,
	// capped (head and tail) where the runtime streams it.
	TestJSON string `json:"-"`
	// Run is the test step's stream parsed as it arrived, stderr included:
	// reports use it rather than re-parsing TestJSON, which may be capped.
	Run        *testjson.Run `json:"-"`
	Started    time.Time     `json:"started"`
	Duration   time.Duration `json:"duration"`
	CPUSeconds float64       `json:"cpuSeconds"`
	Race       bool          `json:"race"`
	Decisions  []Decision    `json:"decisions"`
}

// TestRun is the test step's parsed stream: Run where the runtime parsed it
// as it arrived, else TestJSON and the step's stderr parsed now. ok is
// false when the test step printed nothing to parse.
func (r Result) TestRun() (run testjson.Run, ok bool) {
	if r.Run != nil {
		return *r.Run, true
	}
	st, _ := r.Step(StepTest)
	if r.TestJSON == "" && st.Stderr == "" {
		return testjson.Run{}, false
	}
	return testjson.ParseOutput(r.TestJSON, st.Stderr), true
}

// Step returns the result of the named step, if it ran.
func (r Result) Step(n StepName) (StepResult, bool) {
	for _, s := range r.Steps {
		if s.Name == n {
			return s, true
		}
	}
	return StepResult{}, false
}

// Package job is the contract between planning, runtimes and reporting: a
// Spec says what one cell must run and under which rules, a Result says what
// happened. Both are plain data, so the same Spec gives the same Result shape
// whichever runtime (Docker Engine, Dagger) executed it.
package job

import (
	"time"

	"github.com/parity-ci/parity/matrix"
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
)

// Mount is one filesystem the cell sees besides the image.
type Mount struct {
	Kind      MountKind `json:"kind"`
	Target    string    `json:"target"`
	ReadOnly  bool      `json:"readOnly,omitempty"`
	SizeBytes int64     `json:"sizeBytes,omitempty"` // tmpfs cap
	Name      string    `json:"name,omitempty"`      // cache volume name, per cell
	Owner     string    `json:"owner,omitempty"`     // uid:gid the cache must belong to
	HostPath  string    `json:"hostPath,omitempty"`  // file mounts
}

// StepName identifies the steps every cell runs, in this order.
type StepName string

const (
	StepSetup StepName = "setup" // prepares the image (root, network): cached as a derived image
	StepProbe StepName = "probe" // proves the cell is what it claims
	StepDeps  StepName = "deps"  // go mod download && go mod verify (network on)
	StepTest  StepName = "test"  // go test -json (network off)
)

// Step is one command run in a fresh container from the cell's image.
type Step struct {
	Name    StepName `json:"name"`
	Args    []string `json:"args"`
	Env     []string `json:"env,omitempty"`  // KEY=VALUE added to Spec.Env for this step only
	Network bool     `json:"network"`        // false: no network at all where the runtime can
	Root    bool     `json:"root,omitempty"` // run as root instead of Spec.User (setup only)
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

// Runnable statuses produced test output worth comparing.
func (s Status) RanTests() bool { return s == StatusPassed || s == StatusFailed || s == StatusTimeout }

// Infrastructure reports whether the status blames the machine the cell
// ran on rather than the code or the platform under test.
func (s Status) Infrastructure() bool {
	switch s {
	case StatusKilled, StatusOutOfMemory, StatusResourceLimit, StatusRuntimeLost, StatusCancelled, StatusError:
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
	// TestJSON is the test step's stdout: the `go test -json` stream.
	TestJSON   string        `json:"-"`
	Started    time.Time     `json:"started"`
	Duration   time.Duration `json:"duration"`
	CPUSeconds float64       `json:"cpuSeconds"`
	Race       bool          `json:"race"`
	Decisions  []Decision    `json:"decisions"`
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

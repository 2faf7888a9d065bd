// Package policies turns a cell and the user's options into the cell's Spec.
// Each hermeticity rule is a policy with a stable id; every policy records a
// Decision (id, effect, one-line reason) so a report says what each cell got
// and why. Plan is pure: the same inputs give the same Spec.
package policies

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/probe"
)

// Policy ids: stable, documented in docs/policies.md.
const (
	IDImage       = "image-pinned"
	IDEnv         = "env"
	IDCgo         = "cgo"
	IDCToolchain  = "c-toolchain"
	IDSource      = "source-readonly"
	IDTmpfs       = "tmp-exec-tmpfs"
	IDCaches      = "caches-per-cell"
	IDRootfs      = "rootfs-readonly"
	IDPrivileges  = "least-privilege"
	IDPtrace      = "ptrace"
	IDNetwork     = "network"
	IDModules     = "modules-verified"
	IDRace        = "race"
	IDGoVersion   = "go-version"
	IDEmulation   = "emulation"
	IDProbe       = "env-probe"
	IDDepsEnv     = "deps-env"
	IDCellTimeout = "cell-timeout"
	IDCompile     = "compile-targets"
	IDEndpoint    = "endpoint"
)

// Mount points inside every cell.
const (
	SrcDir      = "/src"
	TmpDir      = "/tmp"
	GoCacheDir  = "/cache/go-build"
	ModCacheDir = "/cache/gomod"
	CABundleAt  = "/etc/parity/ca-certificates.crt"
	CopyDir     = "/work" // --source-mode=copy: the test step's writable copy of the module
)

// Plan returns the Spec of one cell. An error means the cell cannot be
// planned at all (bad pin); a cell that is planned but cannot run (toolchain
// too old) has Spec.NotRunnable set instead, so it still shows in the report.
func Plan(cell matrix.Cell, pins matrix.Pins, opt Options, rt Traits) (job.Spec, error) {
	opt = opt.withDefaults()
	rt = rt.For(cell.Platform())
	pin, ref, err := pins.Lookup(cell)
	if err != nil {
		return job.Spec{}, err
	}
	p := planner{cell: cell, opt: opt, rt: rt, spec: job.Spec{
		Cell:     cell,
		Image:    ref.String(),
		Platform: cell.Platform(),
		Workdir:  SrcDir,
		User:     opt.User,
		Timeout:  opt.CellTimeout,
	}}
	p.decide(IDImage, "pinned", "%s, %s selected from the index at run time (pin for go%s/%s)", shortRef(ref), cell.Platform(), pin.Go, pin.Libc)
	p.endpoint()
	p.goVersion()
	p.emulation()
	cgo := p.cgo()
	race := p.race(cgo)
	p.env(cgo)
	p.filesystem()
	p.privileges()
	p.limits()
	p.steps(cgo, race)
	p.cacheMounts(race, cgo)
	if opt.CellTimeout > 0 {
		p.decide(IDCellTimeout, opt.CellTimeout.String(), "the cell is stopped and reported as timed out after %s", opt.CellTimeout)
	}
	slices.Sort(p.spec.Env)
	return p.spec, nil
}

type planner struct {
	cell matrix.Cell
	opt  Options
	rt   Traits
	spec job.Spec
}

func (p *planner) decide(id, effect, format string, args ...any) {
	p.spec.Decisions = append(p.spec.Decisions, job.Decision{Policy: id, Effect: effect, Reason: fmt.Sprintf(format, args...)})
}

func (p *planner) emulated() bool {
	return p.rt.NativeArch != "" && !p.cell.Arch.RunsNativelyOn(p.rt.NativeArch)
}

// endpoint says where the cell runs when the run has several machines, or
// one that is not this host, and why there.
func (p *planner) endpoint() {
	rt := p.rt
	switch {
	case rt.Endpoint == "":
	case rt.EndpointLost != "":
		p.decide(IDEndpoint, rt.Endpoint, "%s; unreachable (%s): this cell will be reported runtime-lost, the others run", rt.EndpointWhy, rt.EndpointLost)
	case rt.NativeArch != "":
		p.decide(IDEndpoint, rt.Endpoint, "%s; its machine: %s, %s", rt.EndpointWhy, rt.NativeArch, hostSize(rt))
	default:
		p.decide(IDEndpoint, rt.Endpoint, "%s", rt.EndpointWhy)
	}
}

func hostSize(rt Traits) string {
	if rt.HostCPUs == 0 || rt.HostMemoryBytes == 0 {
		return "cores and memory unknown"
	}
	return fmt.Sprintf("%d cores, %.1fGiB", rt.HostCPUs, float64(rt.HostMemoryBytes)/(1<<30))
}

func (p *planner) goVersion() {
	if p.opt.GoModGo == "" || matrix.CompareGo(p.cell.Go, p.opt.GoModGo) >= 0 {
		p.decide(IDGoVersion, "local", "GOTOOLCHAIN=local: tests run on the image's go%s, never a downloaded toolchain", p.cell.Go)
		return
	}
	// The same words the go command prints, so users recognise it.
	p.spec.NotRunnable = fmt.Sprintf("go: go.mod requires go >= %s (running go %s; GOTOOLCHAIN=local)", p.opt.GoModGo, p.cell.Go)
	p.decide(IDGoVersion, "not-runnable", "go.mod requires go >= %s; this cell's image has go%s", p.opt.GoModGo, p.cell.Go)
}

// EmulationCost is what a cell under qemu-user costs against a native one,
// as measured (README, "Platforms CI does not run"): the plan says it.
var EmulationCost = map[matrix.Arch]string{
	matrix.ARM64: "measured 8.7x its native cell",
	// integration TestPlatformsMatrix: the test step of testdata/platforms
	// from an empty build cache, on 2 cores, against the amd64 cell's.
	matrix.S390X: "measured 6-7x the wall time of its native amd64 cell, about 9x its CPU time",
}

// machine is how decisions name the machine the cell runs on: "this", or
// "the endpoint's" when the run places cells on several (--endpoint).
func (p *planner) machine() string {
	if p.rt.Endpoint != "" && p.rt.Endpoint != "default" {
		return "the endpoint's"
	}
	return "this"
}

func (p *planner) emulation() {
	switch {
	case p.emulated():
		cost, ok := EmulationCost[p.cell.Arch]
		if !ok {
			cost = "not measured here; expect several times, as arm64's"
		}
		p.decide(IDEmulation, "qemu", "%s runs under qemu-user emulation on %s %s host: slower (%s), -race cannot run, and a syscall qemu-user lacks fails as ENOSYS (confirm such failures on native hardware)", p.cell.Arch, p.machine(), p.rt.NativeArch, cost)
	case p.rt.NativeArch != "" && p.cell.Arch != p.rt.NativeArch:
		p.decide(IDEmulation, "native", "%s runs natively on %s %s host: a %d-bit userland on its 64-bit kernel, no emulation", p.cell.Arch, p.machine(), p.rt.NativeArch, p.cell.Arch.Bits())
	}
}

func (p *planner) cgo() bool {
	switch p.opt.Cgo {
	case Off:
		p.decide(IDCgo, "CGO_ENABLED=0", "set by the user")
		return false
	case On:
		p.decide(IDCgo, "CGO_ENABLED=1", "set by the user")
		return true
	}
	p.decide(IDCgo, "CGO_ENABLED=1", "explicit in every cell, so cells differ only by platform (images default differently: Alpine 0, Debian 1); -race needs it")
	return true
}

// raceBroken lists Go releases whose race runtime is known not to work on a
// platform; each entry says why.
var raceBroken = []struct {
	libc    matrix.Libc
	arch    matrix.Arch
	from    string // inclusive
	to      string // exclusive; "" = still open
	because string
}{
	{matrix.Musl, matrix.ARM64, "1.0", "", "the race runtime crashes with SIGSEGV in racecallatomic on musl/arm64 (golang/go#59369, open)"},
	{"", matrix.ARM64, "1.25.9", "1.26.0", "the arm64 race runtime of this release needs __aarch64_*_sync symbols (golang/go#78573)"},
	{"", matrix.ARM64, "1.26.2", "1.26.4", "the arm64 race runtime of this release needs __aarch64_*_sync symbols (golang/go#78573, fixed in 1.26.4)"},
}

func (p *planner) race(cgo bool) bool {
	switch p.opt.Race {
	case Off:
		p.decide(IDRace, "off", "turned off by the user")
		return false
	case On:
		p.spec.Race = true
		p.decide(IDRace, "on", "forced on by the user%s", p.raceObstacle(cgo, ": expected to fail here: "))
		return true
	}
	if why := p.raceObstacle(cgo, ""); why != "" {
		p.decide(IDRace, "off", "%s", why)
		return false
	}
	p.spec.Race = true
	p.decide(IDRace, "on", "-race works on native %s with cgo", p.cell.Arch)
	return true
}

// raceObstacle says why -race cannot work in this cell, or "".
func (p *planner) raceObstacle(cgo bool, prefix string) string {
	switch {
	case !p.cell.Arch.RaceSupported():
		return prefix + "the Go race detector does not support linux/" + string(p.cell.Arch) + " (it runs on linux amd64, arm64, ppc64le, riscv64, s390x, loong64)"
	case !cgo:
		return prefix + "-race needs cgo and CGO_ENABLED=0 here"
	case p.emulated():
		return prefix + "ThreadSanitizer refuses qemu-user's address space (unsupported VMA range); race needs native " + string(p.cell.Arch)
	}
	for _, b := range raceBroken {
		if (b.libc == "" || b.libc == p.cell.Libc) && b.arch == p.cell.Arch &&
			matrix.CompareGo(p.cell.Go, b.from) >= 0 && (b.to == "" || matrix.CompareGo(p.cell.Go, b.to) < 0) {
			return prefix + b.because
		}
	}
	return ""
}

func (p *planner) env(cgo bool) {
	tmp := p.tmpdir()
	env := []string{
		"TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly",
		"HOME=" + TmpDir, "TMPDIR=" + tmp, "GOTMPDIR=" + tmp,
		"GOCACHE=" + GoCacheDir, "GOMODCACHE=" + ModCacheDir,
		"GOPATH=" + TmpDir + "/gopath",
		"CGO_ENABLED=" + boolDigit(cgo),
	}
	p.spec.Env = env
	p.decide(IDEnv, "fixed", "TZ=UTC, LANG=LC_ALL=C.UTF-8, GOTOOLCHAIN=local, GOFLAGS=-mod=readonly: the host's settings never leak in")
}

func (p *planner) filesystem() {
	p.spec.Mounts = []job.Mount{
		{Kind: job.MountSource, Target: SrcDir, ReadOnly: true},
		{Kind: job.MountTmpfs, Target: TmpDir, SizeBytes: p.opt.TmpfsBytes},
	}
	if p.opt.SourceMode == SourceCopy {
		// The user's choice for suites that write beside their sources: a
		// scratch copy per test step, nothing reaches the host. The build
		// step compiles in the same place, so the test step finds the
		// module's packages in the build cache.
		p.spec.Mounts = append(p.spec.Mounts, job.Mount{Kind: job.MountSourceCopy, Target: CopyDir, SizeBytes: p.opt.TmpfsBytes, Keep: []string{"go.mod", "go.sum"}, Steps: []job.StepName{job.StepBuild, job.StepTest}})
		if p.rt.UserTmpfs {
			p.decide(IDSource, "copy", "tests run in a writable %s copy of the module at %s (tmpfs, gone after the step; go.mod and go.sum stay read-only on top); the module itself stays read-only at %s", sizeString(p.opt.TmpfsBytes), CopyDir, SrcDir)
		} else {
			p.decide(IDSource, "copy", "tests run in a writable copy of the module at %s, a directory of the test step's own layer owned by the test user (%s mounts tmpfs root-owned; no size cap), kept with the step's cached result; go.mod and go.sum stay read-only on top; the module itself stays read-only at %s", CopyDir, p.rt.Name, SrcDir)
		}
	} else if p.rt.SourceCopied {
		p.decide(IDSource, "read-only", "the module, go.mod and go.sum included, is copied through the Engine API into a volume of the daemon at %s (it cannot see this host's files), mounted read-only at %s (--source-mode=copy gives tests a writable copy)", p.rt.Endpoint, SrcDir)
	} else {
		p.decide(IDSource, "read-only", "the module, go.mod and go.sum included, is mounted read-only at %s (--source-mode=copy gives tests a writable copy)", SrcDir)
	}
	p.decide(IDTmpfs, "exec", "%s is a %s tmpfs that allows exec: go test runs its binaries from there", TmpDir, sizeString(p.opt.TmpfsBytes))
	switch {
	case p.rt.ReadOnlyRootfs:
		p.spec.ReadOnlyRootfs = true
		p.decide(IDRootfs, "read-only", "the image's root filesystem is mounted read-only; only /tmp and the caches are writable")
	case p.insecureRoot():
		p.decide(IDRootfs, "not-enforced", "%s cannot mount the root filesystem read-only, and --ptrace=attach runs steps as root: tests can change the image's files (in this cell only)", p.rt.Name)
	default:
		p.decide(IDRootfs, "non-root", "%s cannot mount the root filesystem read-only: steps run as uid %s, to whom the image's files are read-only", p.rt.Name, p.opt.User)
	}
	if p.opt.CABundle != "" {
		// The deps step alone downloads: tests never see the bundle.
		p.spec.Mounts = append(p.spec.Mounts, job.Mount{Kind: job.MountFile, Target: CABundleAt, ReadOnly: true, HostPath: p.opt.CABundle, Steps: []job.StepName{job.StepDeps}})
	}
}

func (p *planner) cacheName(kind string) string {
	return fmt.Sprintf("%s-%s-%s", p.opt.CacheScope, p.cell.Key(), kind)
}

// ptraceLevel is the user's level, auto resolved for this runtime.
func (p *planner) ptraceLevel() PtraceLevel {
	if p.opt.Ptrace != PtraceAuto {
		return p.opt.Ptrace
	}
	if p.rt.SingleCapability {
		return PtraceAttach
	}
	return PtraceChildren
}

// insecureRoot: attach where the runtime cannot grant SYS_PTRACE alone
// means every capability and root.
func (p *planner) insecureRoot() bool {
	return p.ptraceLevel() == PtraceAttach && !p.rt.SingleCapability
}

func (p *planner) privileges() {
	level := p.ptraceLevel()
	// Claimed only where the runtime sets it: the probe reads NoNewPrivs.
	p.spec.NoNewPrivileges = p.rt.NoNewPrivileges
	switch {
	case level == PtraceAttach && p.rt.SingleCapability:
		p.spec.Capabilities = []string{"SYS_PTRACE"}
		p.decide(IDPtrace, "attach", "CAP_SYS_PTRACE granted alone; every other capability dropped (fewer than %s's defaults)", p.rt.Name)
	case level == PtraceAttach:
		p.spec.InsecureRoot = true
		p.spec.NoNewPrivileges = false
		p.decide(IDPtrace, "attach-insecure", "%s can grant SYS_PTRACE only with every capability and no seccomp: steps run as root, so the read-only root filesystem is not enforced", p.rt.Name)
	case level == PtraceChildren:
		p.decide(IDPtrace, "children", "no capability, default seccomp profile: a test may trace any process of the cell running as its uid, the go command included, unless the host's Yama ptrace_scope forbids it; race and pprof need no ptrace")
	case p.rt.SeccompProfile:
		p.spec.DenyPtrace = true
		p.decide(IDPtrace, "off", "no capability, and seccomp refuses ptrace, process_vm_readv and process_vm_writev (%s's default profile without them); race and pprof need none", p.rt.Name)
	default:
		p.decide(IDPtrace, "off-unenforced", "no capability asked for, but %s cannot change the seccomp profile: same-uid tracing stays possible where the host's Yama allows it", p.rt.Name)
	}
	switch {
	case p.spec.InsecureRoot:
	case p.spec.NoNewPrivileges:
		p.decide(IDPrivileges, "non-root", "steps run as uid %s with no-new-privileges and no other capabilities", p.opt.User)
	default:
		p.decide(IDPrivileges, "non-root", "steps run as uid %s, so with no effective capabilities; %s has no no-new-privileges switch, so a setuid program in the image could still gain some", p.opt.User, p.rt.Name)
	}
}

func (p *planner) steps(cgo, race bool) {
	var steps []job.Step
	if cgo {
		steps = append(steps, job.Step{Name: job.StepSetup, Args: []string{"sh", "-c", SetupScript}, Network: true, Root: true})
		p.decide(IDCToolchain, "ensure", "cgo needs a C compiler: installed (gcc, libc headers) into a cached image derived from the pin only where the image lacks one (Alpine)")
	}
	steps = append(steps, job.Step{Name: job.StepProbe, Args: []string{"sh", "-c", probe.Script}})
	p.decide(IDProbe, "checked", "before anything runs, the cell proves its libc, arch, Go version and cgo setting")

	deps := job.Step{Name: job.StepDeps, Args: []string{"sh", "-c", "go mod download && go mod verify"}, Network: true}
	var depsEnv []string
	for k, v := range p.opt.DepsEnv {
		depsEnv = append(depsEnv, k+"="+v)
	}
	slices.Sort(depsEnv)
	if p.opt.CABundle != "" {
		depsEnv = append(depsEnv, "SSL_CERT_FILE="+CABundleAt)
	}
	deps.Env = depsEnv
	steps = append(steps, deps)
	if len(depsEnv) > 0 || len(p.opt.DepsSecrets) > 0 {
		names := make([]string, 0, len(depsEnv))
		for _, kv := range depsEnv {
			names = append(names, strings.SplitN(kv, "=", 2)[0])
		}
		names = append(names, p.opt.DepsSecrets...)
		p.decide(IDDepsEnv, "passed", "to the deps step only: %s", strings.Join(names, ", "))
	}
	p.decide(IDModules, "verified", "modules are downloaded and checked with go mod verify in one step; tests run with GOPROXY=off")

	steps = append(steps, p.buildStep(race))
	if len(p.opt.Compile) > 0 {
		steps = append(steps, p.compileStep())
	}
	cmd := p.testCommand(race)
	if p.opt.SourceMode == SourceCopy {
		cmd.Copy = &job.SourceCopy{From: SrcDir, To: CopyDir, Keep: []string{"go.mod", "go.sum"}}
	}
	test := job.Step{Name: job.StepTest, Args: cmd.Args(), Test: &cmd, Env: []string{"GOPROXY=off"}}
	steps = append(steps, test)
	if p.rt.NetworkPerStep {
		p.decide(IDNetwork, "tests-offline", "the deps step has network; probe and tests run with none")
	} else {
		p.decide(IDNetwork, "proxy-off", "%s cannot cut one step's network: tests run with GOPROXY=off and -mod=readonly, so no module is fetched, but a test can still dial out", p.rt.Name)
	}
	p.spec.Steps = steps
}

func (p *planner) testCommand(race bool) job.TestCommand {
	cmd := job.TestCommand{Flags: []string{"-json"}, Run: p.opt.Run, Packages: p.opt.Packages}
	add := func(f string) { cmd.Flags = append(cmd.Flags, f) }
	if race {
		add("-race")
	}
	if p.opt.Count > 0 {
		add("-count=" + strconv.Itoa(p.opt.Count))
	}
	if p.opt.Shuffle != "" {
		add("-shuffle=" + p.opt.Shuffle)
	}
	if p.opt.TestTimeout > 0 {
		add("-timeout=" + p.opt.TestTimeout.String())
	}
	if p.opt.Skip != "" {
		add("-skip=" + p.opt.Skip)
	}
	if len(p.opt.Tags) > 0 {
		add("-tags=" + strings.Join(p.opt.Tags, ","))
	}
	if p.opt.Short {
		add("-short")
	}
	if p.opt.Failfast {
		add("-failfast")
	}
	return cmd
}

// SetupScript makes sure a C compiler is present: a no-op on Debian images,
// `apk add gcc musl-dev` on Alpine ones. Runtimes cache the result as an
// image derived from the pinned one.
const SetupScript = `set -e
cc="${CC:-gcc}"
if command -v "$cc" >/dev/null 2>&1; then echo "c-toolchain: $cc already present"; exit 0; fi
if command -v apk >/dev/null 2>&1; then apk add --no-cache gcc musl-dev; exit 0; fi
if command -v apt-get >/dev/null 2>&1; then apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*; exit 0; fi
echo "c-toolchain: no $cc and no package manager to install it" >&2
exit 1`

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func sizeString(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dB", n)
}

func shortRef(r matrix.Ref) string {
	d := strings.TrimPrefix(r.Digest, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return r.Tagged() + "@sha256:" + d
}

package dockerengine

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
)

// traits are the Engine's own, on a 16 GiB 4-core amd64 host.
var traits = (&Engine{native: matrix.AMD64, hostMemory: 16 << 30, hostCPUs: 4}).Traits()

var own = owner{run: "run1", host: "h", pid: "1:2"}

func planCell(t *testing.T, o policies.Options) job.Spec {
	t.Helper()
	s, err := policies.Plan(matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}, matrix.Builtin(), o, traits)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testViews names a view for every cache a Spec mounts.
func testViews(s job.Spec) map[string]string {
	v := map[string]string{}
	for _, m := range s.Mounts {
		if m.Kind == job.MountCache {
			v[m.Name] = m.Name + "-view"
		}
	}
	return v
}

func mustConfig(t *testing.T, s job.Spec, st job.Step, image, src string) (*container.Config, *container.HostConfig) {
	t.Helper()
	cfg, hc, err := containerConfig(s, st, image, src, own, testViews(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, hc
}

func stepOf(s job.Spec, n job.StepName) job.Step {
	for _, st := range s.Steps {
		if st.Name == n {
			return st
		}
	}
	return job.Step{}
}

func TestTestStepIsHermetic(t *testing.T) {
	s := planCell(t, policies.Options{CABundle: "/host/ca.crt"})
	cfg, hc := mustConfig(t, s, stepOf(s, job.StepTest), "sha256:img", "/home/u/proj")
	if cfg.User != "65534:65534" || cfg.WorkingDir != "/src" {
		t.Fatalf("user %q workdir %q", cfg.User, cfg.WorkingDir)
	}
	if !hc.ReadonlyRootfs || hc.NetworkMode != "none" || hc.Privileged {
		t.Fatalf("rootfs ro %v network %q privileged %v", hc.ReadonlyRootfs, hc.NetworkMode, hc.Privileged)
	}
	if !slices.Equal([]string(hc.CapDrop), []string{"ALL"}) || !slices.Equal([]string(hc.CapAdd), []string{"SYS_PTRACE"}) {
		t.Fatalf("caps drop %v add %v", hc.CapDrop, hc.CapAdd)
	}
	if !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) {
		t.Fatalf("security opts %v", hc.SecurityOpt)
	}
	if tmp := hc.Tmpfs["/tmp"]; !strings.Contains(tmp, "exec") || strings.Contains(tmp, "noexec") || !strings.Contains(tmp, "size=2147483648") {
		t.Fatalf("tmpfs %q must be exec and capped", tmp)
	}
	// The module cache is read-only once deps verified it, the build
	// cache is the run's throwaway view of the cell's; tests never see the
	// CA bundle nor the standard library seed.
	want := []mount.Mount{
		{Type: mount.TypeBind, Source: "/home/u/proj", Target: "/src", ReadOnly: true},
		{Type: mount.TypeVolume, Source: "parity-go1.26.8-musl-amd64-gocache-view", Target: "/cache/go-build"},
		{Type: mount.TypeVolume, Source: "parity-gomod", Target: "/cache/gomod", ReadOnly: true},
	}
	if !slices.EqualFunc(hc.Mounts, want, func(a, b mount.Mount) bool {
		return a.Type == b.Type && a.Source == b.Source && a.Target == b.Target && a.ReadOnly == b.ReadOnly
	}) {
		t.Fatalf("mounts\n got %+v\nwant %+v", hc.Mounts, want)
	}
	if !slices.Contains(cfg.Env, "GOPROXY=off") || cfg.Labels[LabelRun] != "run1" {
		t.Fatalf("env %v labels %v", cfg.Env, cfg.Labels)
	}
	if cfg.Cmd[0] != "sh" || cfg.Cmd[2] != stepWrapper || !slices.Equal(cfg.Cmd[4:7], []string{"go", "test", "-json"}) {
		t.Fatalf("cmd %v", cfg.Cmd)
	}
}

func TestDepsStepHasNetworkAndSetupIsRoot(t *testing.T) {
	s := planCell(t, policies.Options{DepsEnv: map[string]string{"GOPROXY": "https://proxy.corp"}})
	cfg, hc := mustConfig(t, s, stepOf(s, job.StepDeps), "img", "/p")
	if hc.NetworkMode != "bridge" || !hc.ReadonlyRootfs {
		t.Fatalf("deps: network %q ro %v", hc.NetworkMode, hc.ReadonlyRootfs)
	}
	if !slices.Contains(cfg.Env, "GOPROXY=https://proxy.corp") || slices.Contains(cfg.Env, "GOPROXY=off") {
		t.Fatalf("deps env %v", cfg.Env)
	}
	cfg, hc = mustConfig(t, s, stepOf(s, job.StepSetup), "img", "/p")
	if cfg.User != "0:0" || hc.ReadonlyRootfs || hc.NetworkMode != "bridge" {
		t.Fatalf("setup: user %q ro %v net %q", cfg.User, hc.ReadonlyRootfs, hc.NetworkMode)
	}
}

func TestPtraceOffDropsEverything(t *testing.T) {
	s := planCell(t, policies.Options{Ptrace: policies.PtraceOff})
	_, hc := mustConfig(t, s, stepOf(s, job.StepTest), "img", "/p")
	if len(hc.CapAdd) != 0 || !slices.Equal([]string(hc.CapDrop), []string{"ALL"}) {
		t.Fatalf("caps add %v drop %v", hc.CapAdd, hc.CapDrop)
	}
}

func TestChownConfig(t *testing.T) {
	s := planCell(t, policies.Options{})
	cfg, hc, ok := chownConfig(s, "img", own, map[string]string{"parity-go1.26.8-musl-amd64-gocache": "v1"})
	if !ok || cfg.User != "0:0" || !slices.Equal([]string(cfg.Cmd), []string{"chown", "65534:65534", "/cache/go-build", "/parity-views/cache/go-build", "/cache/gomod", "/cache/std"}) {
		t.Fatalf("cfg %+v", cfg)
	}
	if i := slices.IndexFunc(hc.Mounts, func(m mount.Mount) bool { return m.Target == "/parity-views/cache/go-build" }); i < 0 || hc.Mounts[i].Source != "v1" {
		t.Fatalf("the view is not handed to the user: %+v", hc.Mounts)
	}
	if !slices.Equal([]string(hc.CapAdd), []string{"CHOWN"}) || hc.NetworkMode != "none" || !hc.ReadonlyRootfs {
		t.Fatalf("chown must hold CHOWN alone: %+v", hc)
	}
}

func TestSplitMarker(t *testing.T) {
	const nonce = "5f0c9e2a77d1b3c4"
	out, st := splitMarker("warning\n\n"+stepMarker+" "+nonce+" cpu-usec=1500000 pids-max=3\n", nonce)
	if out != "warning\n" || st != (stepStats{cpuSeconds: 1.5, pidsMax: 3, found: true}) {
		t.Fatalf("got %q %+v", out, st)
	}
	out, st = splitMarker("killed", nonce)
	if out != "killed" || st.found || st.cpuSeconds != 0 {
		t.Fatalf("got %q %+v", out, st)
	}
	// A test printing a marker of its own cannot speak for the wrapper,
	// even after it: a process the test left behind can print after the
	// wrapper's marker (measured, issue 14 case 8). Only the marker with
	// the step's nonce, which the wrapper read from stdin and tests never
	// see, counts.
	real := "\n" + stepMarker + " " + nonce + " cpu-usec=2000000 pids-max=7\n"
	for name, stderr := range map[string]string{
		"forged before": "\n" + stepMarker + " cpu-usec=1 pids-max=0\nmore\n" + real,
		"forged after":  "more\n" + real + "\n" + stepMarker + " cpu-usec=1 pids-max=0\n",
		"wrong nonce":   "more\n" + real + "\n" + stepMarker + " 0000000000000000 cpu-usec=1 pids-max=0\n",
	} {
		out, st = splitMarker(stderr, nonce)
		if st.pidsMax != 7 || st.cpuSeconds != 2 || !strings.HasPrefix(out, "\n"+stepMarker) && !strings.HasPrefix(out, "more\n") || strings.Contains(out, nonce) {
			t.Errorf("%s: got %q %+v", name, out, st)
		}
	}
	// Without the nonce, no marker is the wrapper's: PID 1 never got to
	// print (a kill from outside), whatever the test printed.
	if _, st = splitMarker("\n"+stepMarker+" cpu-usec=1 pids-max=0\n", nonce); st.found {
		t.Errorf("a marker without the nonce was taken for the wrapper's")
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"A=1", "GOPROXY=x", "B=2"}, []string{"GOPROXY=off"})
	if !slices.Equal(got, []string{"A=1", "B=2", "GOPROXY=off"}) {
		t.Fatal(got)
	}
}

func TestCheckImage(t *testing.T) {
	d := "sha256:" + strings.Repeat("d", 64)
	in := image.InspectResponse{ID: "sha256:x", RepoDigests: []string{"golang@" + d}, Os: "linux", Architecture: "arm64"}
	if err := checkImage(in, "docker.io/library/golang", d, matrix.ARM64); err != nil {
		t.Fatal(err)
	}
	if err := checkImage(in, "golang", d, matrix.AMD64); err == nil || !strings.Contains(err.Error(), "is linux/arm64, the cell needs linux/amd64") {
		t.Fatalf("arch mismatch: %v", err)
	}
	other := "sha256:" + strings.Repeat("e", 64)
	if err := checkImage(in, "golang", other, matrix.ARM64); err == nil || !strings.Contains(err.Error(), "not the pinned") {
		t.Fatalf("digest mismatch: %v", err)
	}
	if err := checkImage(in, "evil/golang", d, matrix.ARM64); err == nil {
		t.Fatal("a digest of another repository must not count")
	}
}

// TestLimitsOnEveryContainer: memory without extra swap, pids, CPUs, a
// capped /dev/shm and no daemon-side log, on every step and on the chown.
func TestLimitsOnEveryContainer(t *testing.T) {
	s := planCell(t, policies.Options{CellMemory: 2 << 30, CellPids: 500, CellCPUs: 1.5})
	check := func(what string, hc *container.HostConfig) {
		t.Helper()
		if hc.Memory != 2<<30 || hc.MemorySwap != 2<<30 || hc.PidsLimit == nil || *hc.PidsLimit != 500 || hc.NanoCPUs != 1_500_000_000 {
			t.Errorf("%s: memory %d swap %d pids %v nanocpus %d", what, hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.NanoCPUs)
		}
		if hc.ShmSize != policies.ShmBytes || hc.LogConfig.Type != "none" {
			t.Errorf("%s: shm %d log %q", what, hc.ShmSize, hc.LogConfig.Type)
		}
	}
	for _, st := range s.Steps {
		_, hc := mustConfig(t, s, st, "img", "/p")
		check(string(st.Name), hc)
	}
	_, hc, _ := chownConfig(s, "img", own, nil)
	check("chown", hc)

	// Defaults come from the daemon's host.
	d := planCell(t, policies.Options{CellsAtOnce: 4})
	if d.MemoryBytes != 3<<30 || d.PidsLimit != policies.DefaultPids || d.CPUs != 4 {
		t.Fatalf("defaults: memory %d pids %d cpus %v", d.MemoryBytes, d.PidsLimit, d.CPUs)
	}
}

func TestLabelsNameRunHostAndProcess(t *testing.T) {
	s := planCell(t, policies.Options{})
	cfg, _ := mustConfig(t, s, stepOf(s, job.StepTest), "img", "/p")
	if cfg.Labels[LabelRun] != "run1" || cfg.Labels[LabelHost] != "h" || cfg.Labels[LabelPID] != "1:2" || cfg.Labels[LabelStep] != "test" {
		t.Fatalf("labels %v", cfg.Labels)
	}
}

// TestPtraceOffSeccomp: under --ptrace=off every non-root step runs under
// Docker's default profile without the tracing syscalls; other levels keep
// Docker's default profile.
func TestPtraceOffSeccomp(t *testing.T) {
	s := planCell(t, policies.Options{Ptrace: policies.PtraceOff})
	_, hc := mustConfig(t, s, stepOf(s, job.StepTest), "img", "/p")
	var prof string
	for _, o := range hc.SecurityOpt {
		if p, ok := strings.CutPrefix(o, "seccomp="); ok {
			prof = p
		}
	}
	if prof == "" || !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
		t.Fatalf("security opts %v", hc.SecurityOpt)
	}
	var parsed struct {
		DefaultAction string `json:"defaultAction"`
		Syscalls      []struct {
			Names  []string `json:"names"`
			Action string   `json:"action"`
		} `json:"syscalls"`
	}
	if err := json.Unmarshal([]byte(prof), &parsed); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, r := range parsed.Syscalls {
		for _, n := range r.Names {
			if r.Action == "SCMP_ACT_ALLOW" {
				allowed[n] = true
			}
		}
	}
	if parsed.DefaultAction != "SCMP_ACT_ERRNO" || !allowed["read"] || !allowed["clone"] || len(parsed.Syscalls) < 10 {
		t.Fatalf("not Docker's default profile: default %q, %d rules", parsed.DefaultAction, len(parsed.Syscalls))
	}
	for _, n := range tracingSyscalls {
		if allowed[n] {
			t.Errorf("%s still allowed", n)
		}
	}
	for _, level := range []policies.PtraceLevel{policies.PtraceChildren, policies.PtraceAttach} {
		s := planCell(t, policies.Options{Ptrace: level})
		_, hc := mustConfig(t, s, stepOf(s, job.StepTest), "img", "/p")
		if !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) {
			t.Errorf("%s: security opts %v", level, hc.SecurityOpt)
		}
	}
}

// TestCABundleOnlyInDeps: the bundle reaches the step that downloads.
func TestCABundleOnlyInDeps(t *testing.T) {
	s := planCell(t, policies.Options{CABundle: "/host/ca.crt"})
	for _, st := range s.Steps {
		_, hc := mustConfig(t, s, st, "img", "/p")
		has := slices.ContainsFunc(hc.Mounts, func(m mount.Mount) bool { return m.Source == "/host/ca.crt" })
		if has != (st.Name == job.StepDeps) {
			t.Errorf("%s: CA bundle mounted %v", st.Name, has)
		}
		gomod := slices.IndexFunc(hc.Mounts, func(m mount.Mount) bool { return m.Target == "/cache/gomod" })
		sees := st.Name != job.StepSetup && st.Name != job.StepProbe
		if (gomod >= 0) != sees || sees && hc.Mounts[gomod].ReadOnly != (st.Name != job.StepDeps) {
			t.Errorf("%s: module cache mount %+v", st.Name, hc.Mounts)
		}
	}
}

// TestCacheViewsFollowTrust: in a trusted run the deps step writes the
// project's module cache and the build step the cell's build cache, and
// the tests see a throwaway view of the build cache; in an untrusted run
// every step sees views, so nothing it writes reaches a volume. The
// standard library seed is the build step's alone.
func TestCacheViewsFollowTrust(t *testing.T) {
	sources := func(s job.Spec, n job.StepName) map[string]mount.Mount {
		_, hc := mustConfig(t, s, stepOf(s, n), "img", "/p")
		out := map[string]mount.Mount{}
		for _, m := range hc.Mounts {
			if m.Type == mount.TypeVolume {
				out[m.Target] = m
			}
		}
		return out
	}
	const gocache, gomod, std = "parity-go1.26.8-musl-amd64-gocache", "parity-gomod", "/cache/std"
	for _, c := range []struct {
		trust policies.Trust
		step  job.StepName
		build string // the volume at /cache/go-build, "" for none
		mod   string
		modRO bool
		seed  bool
	}{
		{policies.Trusted, job.StepProbe, "", "", false, false},
		{policies.Trusted, job.StepDeps, "", gomod, false, false},
		{policies.Trusted, job.StepBuild, gocache, gomod, true, true},
		{policies.Trusted, job.StepTest, gocache + "-view", gomod, true, false},
		{policies.Untrusted, job.StepDeps, "", gomod + "-view", false, false},
		{policies.Untrusted, job.StepBuild, gocache + "-view", gomod + "-view", true, true},
		{policies.Untrusted, job.StepTest, gocache + "-view", gomod + "-view", true, false},
	} {
		s := planCell(t, policies.Options{CacheTrust: c.trust})
		got := sources(s, c.step)
		if got["/cache/go-build"].Source != c.build || got["/cache/gomod"].Source != c.mod || c.mod != "" && got["/cache/gomod"].ReadOnly != c.modRO {
			t.Errorf("%s %s: build cache %+v, module cache %+v", c.trust, c.step, got["/cache/go-build"], got["/cache/gomod"])
		}
		if _, ok := got[std]; ok != c.seed {
			t.Errorf("%s %s: seed mounted %v", c.trust, c.step, ok)
		}
	}
	// A view the run has not made is an error, never the volume.
	s := planCell(t, policies.Options{})
	if _, _, err := containerConfig(s, stepOf(s, job.StepTest), "img", "/p", own, nil, nil); err == nil {
		t.Fatal("the test step got the build cache volume itself")
	}
}

func TestOverlayOptions(t *testing.T) {
	o := overlayOptions("/var/lib/docker/volumes/c/_data", "/u", "/w", true)
	if o["type"] != "overlay" || o["device"] != "overlay" || o["o"] != "lowerdir=/var/lib/docker/volumes/c/_data,upperdir=/u,workdir=/w,metacopy=on" {
		t.Fatal(o)
	}
	if o := overlayOptions("/l", "/u", "/w", false); o["o"] != "lowerdir=/l,upperdir=/u,workdir=/w" {
		t.Fatal(o)
	}
}

// The wrapper run by a local sh: its marker carries the nonce it read,
// whichever cgroup files this machine has (measured: on cgroup v1 the CPU
// counter was read into the nonce's variable, and no marker counted).
func TestStepWrapperKeepsItsNonce(t *testing.T) {
	cmd := exec.Command("sh", "-c", stepWrapper, "sh", "sh", "-c", "echo out; echo err >&2; exit 3")
	cmd.Stdin = strings.NewReader("0123456789abcdef\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v", err)
	}
	rest, st := splitMarker(stderr.String(), "0123456789abcdef")
	if !st.found || rest != "err\n" || stdout.String() != "out\n" {
		t.Fatalf("stderr %q stdout %q: marker found %v, rest %q", stderr.String(), stdout.String(), st.found, rest)
	}
}

// TestBuiltOn: a setup image is used only when its layers start with all
// of its pinned image's.
func TestBuiltOn(t *testing.T) {
	base := image.InspectResponse{RootFS: image.RootFS{Type: "layers", Layers: []string{"a", "b"}}}
	for layers, want := range map[string]bool{"a b c": true, "a b": false, "a x c": false, "x a b c": false, "a": false} {
		setup := image.InspectResponse{RootFS: image.RootFS{Type: "layers", Layers: strings.Fields(layers)}}
		if got := builtOn(setup, base); got != want {
			t.Errorf("layers %q on a b: %v", layers, got)
		}
	}
}

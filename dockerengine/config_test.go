package dockerengine

import (
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
)

var traits = policies.Traits{Name: "docker", ReadOnlyRootfs: true, SingleCapability: true, NetworkPerStep: true, NativeArch: matrix.AMD64}

func planCell(t *testing.T, o policies.Options) job.Spec {
	t.Helper()
	s, err := policies.Plan(matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}, matrix.Builtin(), o, traits)
	if err != nil {
		t.Fatal(err)
	}
	return s
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
	cfg, hc := containerConfig(s, stepOf(s, job.StepTest), "sha256:img", "/home/u/proj", "run1")
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
	want := []mount.Mount{
		{Type: mount.TypeBind, Source: "/home/u/proj", Target: "/src", ReadOnly: true},
		{Type: mount.TypeVolume, Source: "parity-go1.26.8-musl-amd64-gocache", Target: "/cache/go-build"},
		{Type: mount.TypeVolume, Source: "parity-go1.26.8-musl-amd64-gomod", Target: "/cache/gomod"},
		{Type: mount.TypeBind, Source: "/host/ca.crt", Target: "/etc/parity/ca-certificates.crt", ReadOnly: true},
	}
	if !slices.EqualFunc(hc.Mounts, want, func(a, b mount.Mount) bool {
		return a.Type == b.Type && a.Source == b.Source && a.Target == b.Target && a.ReadOnly == b.ReadOnly
	}) {
		t.Fatalf("mounts\n got %+v\nwant %+v", hc.Mounts, want)
	}
	if !slices.Contains(cfg.Env, "GOPROXY=off") || cfg.Labels[LabelRun] != "run1" {
		t.Fatalf("env %v labels %v", cfg.Env, cfg.Labels)
	}
	if cfg.Cmd[0] != "sh" || cfg.Cmd[2] != cpuWrapper || !slices.Equal(cfg.Cmd[4:7], []string{"go", "test", "-json"}) {
		t.Fatalf("cmd %v", cfg.Cmd)
	}
}

func TestDepsStepHasNetworkAndSetupIsRoot(t *testing.T) {
	s := planCell(t, policies.Options{DepsEnv: map[string]string{"GOPROXY": "https://proxy.corp"}})
	cfg, hc := containerConfig(s, stepOf(s, job.StepDeps), "img", "/p", "r")
	if hc.NetworkMode != "bridge" || !hc.ReadonlyRootfs {
		t.Fatalf("deps: network %q ro %v", hc.NetworkMode, hc.ReadonlyRootfs)
	}
	if !slices.Contains(cfg.Env, "GOPROXY=https://proxy.corp") || slices.Contains(cfg.Env, "GOPROXY=off") {
		t.Fatalf("deps env %v", cfg.Env)
	}
	cfg, hc = containerConfig(s, stepOf(s, job.StepSetup), "img", "/p", "r")
	if cfg.User != "0:0" || hc.ReadonlyRootfs || hc.NetworkMode != "bridge" {
		t.Fatalf("setup: user %q ro %v net %q", cfg.User, hc.ReadonlyRootfs, hc.NetworkMode)
	}
}

func TestPtraceOffDropsEverything(t *testing.T) {
	s := planCell(t, policies.Options{Ptrace: policies.PtraceOff})
	_, hc := containerConfig(s, stepOf(s, job.StepTest), "img", "/p", "r")
	if len(hc.CapAdd) != 0 || !slices.Equal([]string(hc.CapDrop), []string{"ALL"}) {
		t.Fatalf("caps add %v drop %v", hc.CapAdd, hc.CapDrop)
	}
}

func TestChownConfig(t *testing.T) {
	s := planCell(t, policies.Options{})
	cfg, hc, ok := chownConfig(s, "img", "r")
	if !ok || cfg.User != "0:0" || !slices.Equal([]string(cfg.Cmd), []string{"chown", "65534:65534", "/cache/go-build", "/cache/gomod"}) {
		t.Fatalf("cfg %+v", cfg)
	}
	if !slices.Equal([]string(hc.CapAdd), []string{"CHOWN"}) || hc.NetworkMode != "none" || !hc.ReadonlyRootfs {
		t.Fatalf("chown must hold CHOWN alone: %+v", hc)
	}
}

func TestSplitCPU(t *testing.T) {
	out, cpu := splitCPU("warning\n\n" + cpuMarker + " 1500000\n")
	if out != "warning\n" || cpu != 1.5 {
		t.Fatalf("got %q %v", out, cpu)
	}
	out, cpu = splitCPU("killed")
	if out != "killed" || cpu != 0 {
		t.Fatalf("got %q %v", out, cpu)
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

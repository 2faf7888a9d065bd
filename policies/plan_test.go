package policies

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

var (
	docker = Traits{Name: "docker", ReadOnlyRootfs: true, SingleCapability: true, NetworkPerStep: true, NoNewPrivileges: true, NativeArch: matrix.AMD64, ReadOnlyCaches: true, CacheViews: true, SeccompProfile: true, ResourceLimits: true, HostMemoryBytes: 16 << 30, HostCPUs: 4}
	dagger = Traits{Name: "dagger", NativeArch: matrix.AMD64}

	glibcAMD64 = matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}
	muslAMD64  = matrix.Cell{Go: "1.27.1", Libc: matrix.Musl, Arch: matrix.AMD64}
	glibcARM64 = matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.ARM64}
	muslARM64  = matrix.Cell{Go: "1.27.1", Libc: matrix.Musl, Arch: matrix.ARM64}
)

func plan(t *testing.T, c matrix.Cell, o Options, rt Traits) job.Spec {
	t.Helper()
	s, err := Plan(c, matrix.Builtin(), o, rt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decision(t *testing.T, s job.Spec, id string) job.Decision {
	t.Helper()
	for _, d := range s.Decisions {
		if d.Policy == id {
			return d
		}
	}
	t.Fatalf("no decision %q in %+v", id, s.Decisions)
	return job.Decision{}
}

func step(t *testing.T, s job.Spec, n job.StepName) job.Step {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == n {
			return st
		}
	}
	t.Fatalf("no step %s", n)
	return job.Step{}
}

func TestImagePinnedAndPlatform(t *testing.T) {
	s := plan(t, muslARM64, Options{}, docker)
	if !strings.HasPrefix(s.Image, "golang:1.27.1-alpine3.24@sha256:4cb7ac97") || s.Platform != "linux/arm64" {
		t.Fatalf("image %s platform %s", s.Image, s.Platform)
	}
	_, err := Plan(muslARM64, matrix.Pins{{Go: "1.27.1", Libc: matrix.Musl, Image: "golang:1.27.1-alpine"}}, Options{}, docker)
	if err == nil || !strings.Contains(err.Error(), "go1.27.1/musl/arm64") || !strings.Contains(err.Error(), "not pinned by digest") {
		t.Fatalf("unpinned image accepted: %v", err)
	}
}

func TestEnvIsFixedAndCgoExplicit(t *testing.T) {
	s := plan(t, muslAMD64, Options{}, docker)
	for _, kv := range []string{"TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly", "CGO_ENABLED=1", "GOCACHE=/cache/go-build", "GOMODCACHE=/cache/gomod", "HOME=/tmp"} {
		if !slices.Contains(s.Env, kv) {
			t.Errorf("env lacks %s: %v", kv, s.Env)
		}
	}
	if !slices.IsSorted(s.Env) {
		t.Error("env must be sorted so specs compare stably")
	}
	off := plan(t, muslAMD64, Options{Cgo: Off}, docker)
	if !slices.Contains(off.Env, "CGO_ENABLED=0") || off.Race {
		t.Fatalf("cgo off: env %v race %v", off.Env, off.Race)
	}
	if d := decision(t, off, IDRace); d.Effect != "off" || !strings.Contains(d.Reason, "needs cgo") {
		t.Fatalf("race decision with cgo off: %+v", d)
	}
	if slices.ContainsFunc(off.Steps, func(st job.Step) bool { return st.Name == job.StepSetup }) {
		t.Fatal("no C toolchain setup without cgo")
	}
}

func TestFilesystem(t *testing.T) {
	s := plan(t, glibcAMD64, Options{TmpfsBytes: 512 << 20}, docker)
	seed := StdSeedName(s.Image, s.Platform, true, true, nil)
	want := []job.Mount{
		{Kind: job.MountSource, Target: "/src", ReadOnly: true},
		{Kind: job.MountTmpfs, Target: "/tmp", SizeBytes: 512 << 20},
		{Kind: job.MountCache, Target: "/cache/go-build", Name: "parity-go1.27.1-glibc-amd64-gocache", Owner: "65534:65534",
			Steps: []job.StepName{job.StepBuild, job.StepTest}, ViewSteps: []job.StepName{job.StepTest}},
		{Kind: job.MountCache, Target: "/cache/gomod", Name: "parity-gomod", Owner: "65534:65534",
			Steps: []job.StepName{job.StepDeps, job.StepBuild, job.StepTest}, ReadOnlySteps: []job.StepName{job.StepBuild, job.StepTest}},
		{Kind: job.MountCache, Target: "/cache/std", Name: seed, Owner: "65534:65534", Steps: []job.StepName{job.StepBuild}},
	}
	if !reflect.DeepEqual(s.Mounts, want) {
		t.Fatalf("mounts:\n got %+v\nwant %+v", s.Mounts, want)
	}
	if !s.ReadOnlyRootfs || decision(t, s, IDRootfs).Effect != "read-only" {
		t.Fatal("docker: root filesystem must be read-only")
	}
	other := plan(t, muslAMD64, Options{}, docker)
	if other.Mounts[2].Name == s.Mounts[2].Name {
		t.Fatal("musl and glibc must not share a build cache")
	}
	d := plan(t, glibcAMD64, Options{}, dagger)
	if d.ReadOnlyRootfs || d.User != "65534:65534" || !strings.Contains(decision(t, d, IDRootfs).Reason, "cannot mount the root filesystem read-only") {
		t.Fatalf("dagger rootfs: %+v", decision(t, d, IDRootfs))
	}
	ca := plan(t, glibcAMD64, Options{CABundle: "/etc/ssl/certs/ca-certificates.crt"}, docker)
	if i := slices.IndexFunc(ca.Mounts, func(m job.Mount) bool { return m.Kind == job.MountFile }); i < 0 || !ca.Mounts[i].ReadOnly || ca.Mounts[i].Target != CABundleAt {
		t.Fatalf("CA mount %+v", ca.Mounts)
	}
	if !slices.Contains(step(t, ca, job.StepDeps).Env, "SSL_CERT_FILE="+CABundleAt) || slices.Contains(step(t, ca, job.StepTest).Env, "SSL_CERT_FILE="+CABundleAt) {
		t.Fatal("the CA bundle is for the deps step only")
	}
}

func TestRacePolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cell   matrix.Cell
		opt    Options
		rt     Traits
		race   bool
		reason string
	}{
		{"native glibc", glibcAMD64, Options{}, docker, true, "works on native amd64"},
		{"native musl", muslAMD64, Options{}, docker, true, "works on native amd64"},
		{"emulated arm64", glibcARM64, Options{}, docker, false, "unsupported VMA range"},
		{"musl arm64 native", muslARM64, Options{}, Traits{Name: "docker", SingleCapability: true, NativeArch: matrix.ARM64}, false, "golang/go#59369"},
		{"arm64 1.26.2 native", matrix.Cell{Go: "1.26.2", Libc: matrix.Glibc, Arch: matrix.ARM64}, Options{}, Traits{NativeArch: matrix.ARM64}, false, "golang/go#78573"},
		{"arm64 1.26.4 native", matrix.Cell{Go: "1.26.4", Libc: matrix.Glibc, Arch: matrix.ARM64}, Options{}, Traits{NativeArch: matrix.ARM64}, true, "native arm64"},
		{"user off", glibcAMD64, Options{Race: Off}, docker, false, "turned off by the user"},
		{"user forces on emulated", glibcARM64, Options{Race: On}, docker, true, "expected to fail here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pins := matrix.Builtin().Merge(matrix.Pins{{Go: tc.cell.Go, Libc: tc.cell.Libc, Image: "golang@sha256:" + strings.Repeat("b", 64)}})
			s, err := Plan(tc.cell, pins, tc.opt, tc.rt)
			if err != nil {
				t.Fatal(err)
			}
			hasFlag := slices.Contains(step(t, s, job.StepTest).Args, "-race")
			if s.Race != tc.race || hasFlag != tc.race {
				t.Fatalf("race = %v, -race flag = %v; want %v", s.Race, hasFlag, tc.race)
			}
			if d := decision(t, s, IDRace); !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("reason %q lacks %q", d.Reason, tc.reason)
			}
		})
	}
}

func TestPtracePolicy(t *testing.T) {
	s := plan(t, glibcAMD64, Options{}, docker)
	if !slices.Equal(s.Capabilities, []string{"SYS_PTRACE"}) || s.InsecureRoot || !s.NoNewPrivileges {
		t.Fatalf("docker default: caps %v insecure %v nnp %v", s.Capabilities, s.InsecureRoot, s.NoNewPrivileges)
	}
	if d := decision(t, s, IDPtrace); d.Effect != "attach" || !strings.Contains(d.Reason, "every other capability dropped") {
		t.Fatalf("docker ptrace decision: %+v", d)
	}
	d := plan(t, glibcAMD64, Options{}, dagger)
	if len(d.Capabilities) != 0 || d.InsecureRoot || decision(t, d, IDPtrace).Effect != "children" {
		t.Fatalf("dagger default must stay children: %+v", d.Decisions)
	}
	a := plan(t, glibcAMD64, Options{Ptrace: PtraceAttach}, dagger)
	if !a.InsecureRoot || a.NoNewPrivileges || decision(t, a, IDPtrace).Effect != "attach-insecure" {
		t.Fatalf("dagger attach must be the flagged insecure mode: %+v", a)
	}
	o := plan(t, glibcAMD64, Options{Ptrace: PtraceOff}, docker)
	if len(o.Capabilities) != 0 || decision(t, o, IDPtrace).Effect != "off" {
		t.Fatalf("off: %v", o.Capabilities)
	}
	if _, err := ParsePtrace("strace"); err == nil {
		t.Fatal("bad level accepted")
	}
}

func TestStepsAndNetwork(t *testing.T) {
	s := plan(t, muslAMD64, Options{Count: 2, Shuffle: "on", TestTimeout: time.Minute, Packages: []string{"./pkg/..."}, Run: "TestX", DepsEnv: map[string]string{"GOPROXY": "https://proxy.corp", "GOPRIVATE": "corp.example"}}, docker)
	var names []job.StepName
	for _, st := range s.Steps {
		names = append(names, st.Name)
	}
	if !slices.Equal(names, []job.StepName{job.StepSetup, job.StepProbe, job.StepDeps, job.StepBuild, job.StepTest}) {
		t.Fatalf("steps %v", names)
	}
	if st := step(t, s, job.StepSetup); !st.Root || !st.Network {
		t.Fatal("setup installs packages: root and network")
	}
	deps := step(t, s, job.StepDeps)
	if !deps.Network || !strings.Contains(strings.Join(deps.Args, " "), "go mod download && go mod verify") {
		t.Fatalf("deps %+v", deps)
	}
	if !slices.Equal(deps.Env, []string{"GOPRIVATE=corp.example", "GOPROXY=https://proxy.corp"}) {
		t.Fatalf("deps env %v", deps.Env)
	}
	test := step(t, s, job.StepTest)
	if test.Network || step(t, s, job.StepProbe).Network || step(t, s, job.StepBuild).Network {
		t.Fatal("probe, build and tests run offline")
	}
	build := step(t, s, job.StepBuild)
	if got := strings.Join(build.Args[4:], " "); got != "-race -- ./pkg/..." || build.Args[2] != BuildScript || !slices.Contains(build.Env, "GOPROXY=off") {
		t.Fatalf("build step %v %v", build.Args[4:], build.Env)
	}
	if !slices.Equal(test.Env, []string{"GOPROXY=off"}) {
		t.Fatalf("test env %v: the user's proxy settings must not reach tests", test.Env)
	}
	want := []string{"go", "test", "-json", "-race", "-count=2", "-shuffle=on", "-timeout=1m0s", "-run=TestX", "./pkg/..."}
	if !slices.Equal(test.Args, want) {
		t.Fatalf("test args\n got %v\nwant %v", test.Args, want)
	}
	if decision(t, s, IDNetwork).Effect != "tests-offline" {
		t.Fatal("docker cuts the network of tests")
	}
	if d := decision(t, plan(t, muslAMD64, Options{}, dagger), IDNetwork); d.Effect != "proxy-off" || !strings.Contains(d.Reason, "can still dial out") {
		t.Fatalf("dagger must say it cannot cut the network: %+v", d)
	}
}

func TestGoVersionNotRunnable(t *testing.T) {
	c := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	s := plan(t, c, Options{GoModGo: "1.27.1"}, docker)
	if s.NotRunnable != "go: go.mod requires go >= 1.27.1 (running go 1.26.8; GOTOOLCHAIN=local)" {
		t.Fatalf("NotRunnable = %q", s.NotRunnable)
	}
	if plan(t, c, Options{GoModGo: "1.26"}, docker).NotRunnable != "" {
		t.Fatal("go 1.26 runs on 1.26.8")
	}
}

func TestEmulationDecision(t *testing.T) {
	if d := decision(t, plan(t, glibcARM64, Options{}, docker), IDEmulation); d.Effect != "qemu" {
		t.Fatal(d)
	}
	for _, d := range plan(t, glibcAMD64, Options{}, docker).Decisions {
		if d.Policy == IDEmulation {
			t.Fatal("native cells are not emulated")
		}
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	o := Options{DepsEnv: map[string]string{"A": "1", "B": "2", "C": "3"}}
	a, b := plan(t, muslAMD64, o, docker), plan(t, muslAMD64, o, docker)
	if strings.Join(step(t, a, job.StepDeps).Env, ",") != strings.Join(step(t, b, job.StepDeps).Env, ",") {
		t.Fatal("deps env order must not depend on map order")
	}
}

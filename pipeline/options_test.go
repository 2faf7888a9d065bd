package pipeline

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
)

const argsGoMod = "module example.com/m\n\ngo 1.26\n"

// TestArgsRequest: every option reaches the request, and through it the
// plan, from either front door (both fill Args).
func TestArgsRequest(t *testing.T) {
	a := Args{
		Go: []string{"1.27.1"}, Libc: []string{"glibc"}, Arch: []string{"amd64", "arm64"},
		Exclude: []string{"*/glibc/arm64"}, Race: "off", Cgo: "on", Ptrace: "off",
		Count: 3, Shuffle: "42", Timeout: "5m", CellTimeout: "20m",
		Packages: []string{"./a/...", "./b"}, Run: "TestX", Skip: "TestY", Short: "on",
		Tags: []string{"integration,slow"}, Failfast: true,
		CellMemory: "2GiB", CellCPUs: "1.5", CellPids: 512, Parallel: 2,
		Reruns: 3, FailOnFlaky: true, Explain: "on",
		CacheScope: "team", RegistryMirror: "mirror.example.com",
		DepsEnv: []string{"GOPROXY=https://proxy.example.com", "GONOSUMDB=corp.example.com/*"}, Goprivate: "corp.example.com/*,git.example.com",
		AllowDivergence: true,
	}
	r, err := a.Request(Host{Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if r.HostArch != "amd64" || !r.AllowDivergence || r.RegistryMirror != "mirror.example.com" || r.Parallel != 2 {
		t.Fatalf("request %+v", r)
	}
	in, err := r.Inputs([]byte(argsGoMod), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	o := in.Policy
	if o.Race != policies.Off || o.Cgo != policies.On || o.Ptrace != policies.PtraceOff || o.Count != 3 || o.Shuffle != "42" ||
		o.TestTimeout != 5*time.Minute || o.CellTimeout != 20*time.Minute || o.Run != "TestX" || o.Skip != "TestY" ||
		!o.Short || !o.Failfast || !slices.Equal(o.Tags, []string{"integration", "slow"}) ||
		!slices.Equal(o.Packages, []string{"./a/...", "./b"}) || o.CacheScope != "team" ||
		o.CellMemory != 2<<30 || o.CellCPUs != 1.5 || o.CellPids != 512 || o.CellsAtOnce != 2 {
		t.Fatalf("policy %+v", o)
	}
	if o.DepsEnv["GOPRIVATE"] != "corp.example.com/*,git.example.com" || o.DepsEnv["GOPROXY"] != "https://proxy.example.com" || o.DepsEnv["GONOSUMDB"] != "corp.example.com/*" {
		t.Fatalf("deps env %v", o.DepsEnv)
	}
	p, err := MakePlan(in, policies.Traits{Name: "dagger", NativeArch: matrix.AMD64})
	if err != nil {
		t.Fatal(err)
	}
	var cells []string
	for _, s := range p.Specs {
		cells = append(cells, s.Cell.String())
	}
	if !slices.Equal(cells, []string{"go1.27.1/glibc/amd64"}) {
		t.Fatalf("cells %v", cells)
	}
	if rc := p.Recheck; rc.Reruns != 3 || !rc.FailOnFlaky || rc.Explain != "on" {
		t.Fatalf("recheck %+v", rc)
	}
}

// TestPrePushProfile keeps the engine's arch only.
func TestPrePushProfile(t *testing.T) {
	r, err := Args{Profile: "pre-push", Go: []string{"1.27.1"}, Libc: []string{"musl"}}.Request(Host{Arch: "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := r.Inputs([]byte(argsGoMod), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(in, policies.Traits{Name: "dagger", NativeArch: matrix.ARM64})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Specs) != 1 || p.Specs[0].Cell.Arch != matrix.ARM64 || !in.Policy.Short {
		t.Fatalf("pre-push: %d specs, short %v", len(p.Specs), in.Policy.Short)
	}
}

func TestArgsRefused(t *testing.T) {
	for _, c := range []struct {
		a    Args
		want string
	}{
		{Args{DepsEnv: []string{"GOPROXY"}}, `--deps-env "GOPROXY": want KEY=VALUE`},
		{Args{DepsEnv: []string{"=x"}}, `want KEY=VALUE`},
		{Args{DepsEnv: []string{"A=1", "A=2"}}, "A given twice"},
		{Args{DepsEnv: []string{"GOPRIVATE=a"}, Goprivate: "b"}, "--goprivate and --deps-env GOPRIVATE"},
		{Args{DepsEnv: []string{"A B=c"}}, `--deps-env "A B=c": want KEY=VALUE`},
	} {
		_, err := c.a.Request(Host{Arch: "amd64"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.a, err, c.want)
		}
	}
}

func TestNoDepsEnvIsNil(t *testing.T) {
	r, err := Args{}.Request(Host{Arch: "amd64"})
	if err != nil || r.DepsEnv != nil {
		t.Fatalf("%v %v", r.DepsEnv, err)
	}
}

// TestHostDepsEnvIsOverridden: the caller's own settings reach the deps
// step, and an explicit item or --goprivate wins over them, through the
// one builder both doors use.
func TestHostDepsEnvIsOverridden(t *testing.T) {
	r, err := Args{DepsEnv: []string{"GOPROXY=https://given"}, Goprivate: "corp/*"}.Request(Host{
		Arch: "amd64", DepsEnv: map[string]string{"GOPROXY": "https://host", "GOPRIVATE": "host/*", "HTTPS_PROXY": "http://p:3128"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.DepsEnv["GOPROXY"] != "https://given" || r.DepsEnv["GOPRIVATE"] != "corp/*" || r.DepsEnv["HTTPS_PROXY"] != "http://p:3128" {
		t.Fatalf("deps env %v", r.DepsEnv)
	}
}

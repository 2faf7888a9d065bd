package pipeline

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
)

// Every request field is checked before anything runs, with one line that
// names the flag and says what it takes.
func TestRequestRefusesBadValues(t *testing.T) {
	for name, tc := range map[string]struct {
		req  Request
		want string
	}{
		"run regexp":       {Request{Run: "Test("}, "--run \"Test(\": "},
		"skip regexp":      {Request{Skip: "[x"}, "--skip \"[x\": "},
		"flag as package":  {Request{Packages: []string{"./...", "-exec=/bin/false"}}, `--packages "-exec=/bin/false": a package pattern cannot start with -`},
		"shuffle word":     {Request{Shuffle: "sometimes"}, `--shuffle "sometimes": want on, off or a seed`},
		"cache scope":      {Request{CacheScope: "../x"}, `--cache-scope "../x"`},
		"cache scope dash": {Request{CacheScope: "-x"}, `--cache-scope "-x"`},
		"mirror scheme":    {Request{RegistryMirror: "https://mirror.example"}, "--registry-mirror: mirror \"https://mirror.example\": give host[:port][/path] without a scheme"},
		"mirror host":      {Request{RegistryMirror: "mirror"}, "--registry-mirror: "},
		"parallel":         {Request{Parallel: -1}, "--parallel -1"},
		"tag":              {Request{Tags: []string{"integration", "a b;c"}}, `--tags "b;c"`},
		"tag flag":         {Request{Tags: []string{"-x"}}, `--tags "-x"`},
		"short":            {Request{Short: "maybe"}, "--short: bad value"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.req.Inputs([]byte("module m\n"), nil, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tc.want)
			}
		})
	}
	for name, req := range map[string]Request{
		"run with subtests": {Run: "TestA/sub_(x|y)$", Skip: "TestB"},
		"shuffle seed":      {Shuffle: "12345"},
		"shuffle on":        {Shuffle: "on"},
		"negative seed":     {Shuffle: "-3"},
		"mirror":            {RegistryMirror: "127.0.0.1:5000/hub"},
		"scope":             {CacheScope: "team_shared.1"},
		"packages":          {Packages: []string{"./cmd/...", "example.com/m/x"}},
		"tags":              {Tags: []string{"integration,linux", "netgo"}},
	} {
		if _, err := req.Inputs([]byte("module m\n"), nil, ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// -short, -tags, -skip and -failfast reach the test step, in that spelling.
func TestGoTestFlagsReachTheTestStep(t *testing.T) {
	in, err := Request{Short: "on", Tags: []string{"integration,linux"}, Skip: "TestSlow", Failfast: true, Go: []string{"1.27.1"}}.Inputs([]byte("module m\n"), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(in, docker)
	if err != nil {
		t.Fatal(err)
	}
	args := testStep(t, p.Specs[0]).Args
	for _, want := range []string{"-short", "-tags=integration,linux", "-skip=TestSlow", "-failfast"} {
		if !slices.Contains(args, want) {
			t.Errorf("test args %q lack %q", args, want)
		}
	}
	if i, j := slices.Index(args, "-failfast"), slices.Index(args, "./..."); j < i {
		t.Errorf("flags after the packages: %q", args)
	}
	ro := reportMeta(p, Meta{Options: in.Policy}).Options
	if !ro.Short || ro.Skip != "TestSlow" || !ro.Failfast || !slices.Equal(ro.Tags, []string{"integration", "linux"}) {
		t.Errorf("report options %+v", ro)
	}
}

// The pre-push profile runs -short unless told otherwise.
func TestPrePushIsShort(t *testing.T) {
	for _, tc := range []struct {
		req  Request
		want bool
	}{
		{Request{Profile: "pre-push", HostArch: "amd64"}, true},
		{Request{Profile: "pre-push", HostArch: "amd64", Short: "off"}, false},
		{Request{}, false},
		{Request{Short: "on"}, true},
	} {
		in, err := tc.req.Inputs([]byte("module m\n"), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if in.Policy.Short != tc.want {
			t.Errorf("%+v: short = %v, want %v", tc.req, in.Policy.Short, tc.want)
		}
	}
}

func testStep(t *testing.T, s job.Spec) job.Step {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == job.StepTest {
			return st
		}
	}
	t.Fatalf("%s has no test step", s.Cell)
	return job.Step{}
}

// Cache volumes belong to one project: two modules, or two checkouts of
// one module path with different histories, never share them; the same
// project always gets the same ones.
func TestDefaultCacheScopeIsPerProject(t *testing.T) {
	a := DefaultCacheScope("example.com/a", "git:1111")
	if a != DefaultCacheScope("example.com/a", "git:1111") {
		t.Fatal("not stable")
	}
	for _, other := range []string{DefaultCacheScope("example.com/b", "git:1111"), DefaultCacheScope("example.com/a", "git:2222"), DefaultCacheScope("example.com/a", "")} {
		if other == a {
			t.Fatalf("%s shared", a)
		}
	}
	if err := checkCacheScope(a); err != nil || !strings.HasPrefix(a, "parity-") {
		t.Fatalf("scope %q: %v", a, err)
	}
	in, err := Request{SourceID: "git:1111"}.Inputs([]byte("module example.com/a\n"), nil, "")
	if err != nil || in.Policy.CacheScope != a {
		t.Fatalf("request scope %q, %v; want %q", in.Policy.CacheScope, err, a)
	}
	in, err = Request{SourceID: "git:1111", CacheScope: "shared"}.Inputs([]byte("module example.com/a\n"), nil, "")
	if err != nil || in.Policy.CacheScope != "shared" {
		t.Fatalf("explicit scope %q, %v", in.Policy.CacheScope, err)
	}
	p, err := MakePlan(inputs(t, "module example.com/a\n", Request{SourceID: "git:1111", Go: []string{"1.27.1"}}), docker)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range p.Specs[0].Mounts {
		// The standard library seed is the machine's: it holds no project's
		// code (policies.StdSeedName).
		if m.Kind == job.MountCache && !strings.HasPrefix(m.Name, a+"-") && !strings.HasPrefix(m.Name, policies.StdSeedPrefix) {
			t.Errorf("cache volume %s is not in the project's scope %s", m.Name, a)
		}
	}
}

// A report names its inputs by content: two checkouts of one module, with
// the same lock at different paths, record the same source and options.
func TestReportMetaHasNoPaths(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	lock := []byte(`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine@` + digest + `"}]}`)
	meta := func(lockName string) report.Meta {
		in, err := Request{Go: []string{"1.27.1"}}.Inputs([]byte("module example.com/m\n"), lock, lockName)
		if err != nil {
			t.Fatal(err)
		}
		p, err := MakePlan(in, docker)
		if err != nil {
			t.Fatal(err)
		}
		return reportMeta(p, Meta{Options: in.Policy, GoSum: Digest([]byte("x"))})
	}
	a, b := meta("/home/a/src/m/parity.lock.json"), meta("/builds/b/m/parity.lock.json")
	ja, _ := json.Marshal([]any{a.Source, a.Options})
	jb, _ := json.Marshal([]any{b.Source, b.Options})
	if string(ja) != string(jb) || strings.Contains(string(ja), "/home/a") {
		t.Fatalf("not comparable:\n%s\n%s", ja, jb)
	}
	if !strings.HasPrefix(a.Source.Pins, "sha256:") || a.Source.GoSum != Digest([]byte("x")) {
		t.Fatalf("source %+v", a.Source)
	}
	other, err := Request{Go: []string{"1.27.1"}}.Inputs([]byte("module example.com/m\n"), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(other, docker)
	if err != nil || p.PinsDigest == a.Source.Pins {
		t.Fatalf("other pins, same digest %s (%v)", p.PinsDigest, err)
	}
}

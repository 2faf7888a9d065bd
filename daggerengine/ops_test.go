package daggerengine

import (
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
)

func planDagger(t *testing.T, o policies.Options) job.Spec {
	t.Helper()
	s, err := policies.Plan(matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}, matrix.Builtin(), o, policies.Traits{Name: "dagger", NativeArch: matrix.AMD64})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func find(ops []op, k opKind) []op {
	var out []op
	for _, o := range ops {
		if o.kind == k {
			out = append(out, o)
		}
	}
	return out
}

func TestBaseOps(t *testing.T) {
	ops := baseOps(planDagger(t, policies.Options{TmpfsBytes: 1 << 30}))
	if src := find(ops, opMountSource); len(src) != 1 || !src[0].readOnly || src[0].path != "/src" {
		t.Fatalf("source %+v", src)
	}
	if tmp := find(ops, opMountTemp); len(tmp) != 1 || tmp[0].size != 1<<30 || tmp[0].path != "/tmp" {
		t.Fatalf("tmp %+v", tmp)
	}
	// The caches are mounted per step (stepOps): the test step never
	// mounts one.
	if caches := find(ops, opMountCache); len(caches) != 0 {
		t.Fatalf("caches in the base container %+v", caches)
	}
	build := find(stepOps(planDagger(t, policies.Options{TmpfsBytes: 1 << 30}), job.Step{Name: job.StepBuild}, credentials{}, "call1"), opMountCache)
	if len(build) != 3 || build[0].value != "parity-go1.27.1-glibc-amd64-gocache" || build[0].owner != "65534:65534" || build[1].value != "parity-gomod" {
		t.Fatalf("build step caches %+v", build)
	}
	env := find(ops, opEnv)
	if !slices.ContainsFunc(env, func(o op) bool { return o.path == "TZ" && o.value == "UTC" }) {
		t.Fatalf("env %+v", env)
	}
	if w := find(ops, opWorkdir); len(w) != 1 || w[0].path != "/src" {
		t.Fatal(w)
	}
}

func TestStepOps(t *testing.T) {
	s := planDagger(t, policies.Options{})
	var test job.Step
	for _, st := range s.Steps {
		if st.Name == job.StepTest {
			test = st
		}
	}
	ops := stepOps(s, test, credentials{}, "call1")
	if ops[0].kind != opUser || ops[0].value != "65534:65534" {
		t.Fatalf("first op %+v", ops[0])
	}
	last := ops[len(ops)-1]
	if last.kind != opExec || last.insecure || !slices.Equal(last.args[:2], []string{"sh", "-c"}) || !strings.Contains(last.args[2], timeMarker) ||
		!strings.Contains(last.args[2], `-gt "1" ]`) || !strings.Contains(last.args[2], "signal: killed") || !slices.Equal(last.args[4:7], []string{"go", "test", "-json"}) {
		t.Fatalf("exec %+v", last)
	}
	if e := find(ops, opEnv); len(e) != 1 || e[0].path != "GOPROXY" || e[0].value != "off" {
		t.Fatalf("step env %+v", e)
	}
}

func TestAttachIsInsecureRoot(t *testing.T) {
	s := planDagger(t, policies.Options{Ptrace: policies.PtraceAttach})
	ops := stepOps(s, s.Steps[len(s.Steps)-1], credentials{}, "call1")
	if ops[0].value != "0:0" || !ops[len(ops)-1].insecure {
		t.Fatalf("attach on Dagger: %+v", ops)
	}
	for _, c := range find(baseOps(s), opMountCache) {
		if c.owner != "" {
			t.Fatal("root needs no cache owner")
		}
	}
}

func TestArchOf(t *testing.T) {
	for in, want := range map[string]string{"linux/amd64": "amd64", "linux/arm64/v8": "arm64", "weird": "weird"} {
		if got := archOf(in); got != want {
			t.Errorf("archOf(%q) = %q", in, got)
		}
	}
}

func stepOf(t *testing.T, s job.Spec, n job.StepName) job.Step {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == n {
			return st
		}
	}
	t.Fatalf("no %s step", n)
	return job.Step{}
}

// TestCABundleInDepsOnly: the bundle reaches the deps step and no other,
// as a File when the module was given one.
func TestCABundleInDepsOnly(t *testing.T) {
	s := planDagger(t, policies.Options{CABundle: caBundleFile})
	if f := find(baseOps(s), opMountFile); len(f) != 0 {
		t.Fatalf("the CA bundle is mounted for every step: %+v", f)
	}
	deps := stepOps(s, stepOf(t, s, job.StepDeps), credentials{}, "call1")
	if f := find(deps, opMountFile); len(f) != 1 || f[0].value != caBundleFile || f[0].path != policies.CABundleAt {
		t.Fatalf("deps mounts %+v", f)
	}
	if !slices.ContainsFunc(find(deps, opEnv), func(o op) bool { return o.path == "SSL_CERT_FILE" && o.value == policies.CABundleAt }) {
		t.Fatal("deps step without SSL_CERT_FILE")
	}
	for _, n := range []job.StepName{job.StepProbe, job.StepTest} {
		if f := find(stepOps(s, stepOf(t, s, n), credentials{}, "call1"), opMountFile); len(f) != 0 {
			t.Fatalf("%s sees the CA bundle: %+v", n, f)
		}
	}
}

// TestCredentialsInDepsOnly: private-module credentials are secrets of the
// deps step alone, offered to one git host, and never a plain variable.
func TestCredentialsInDepsOnly(t *testing.T) {
	s := planDagger(t, policies.Options{})
	cred := credentials{netrc: true, gitToken: true, gitHost: "git.example.com"}
	deps := stepOps(s, stepOf(t, s, job.StepDeps), cred, "call1")
	if m := find(deps, opMountSecret); len(m) != 1 || m[0].value != secretNetrc || m[0].path != netrcPath || m[0].owner != "65534:65534" {
		t.Fatalf("netrc mount %+v", m)
	}
	if v := find(deps, opSecretEnv); len(v) != 1 || v[0].value != secretGitToken || v[0].path != gitTokenVar {
		t.Fatalf("token variable %+v", v)
	}
	env := map[string]string{}
	for _, o := range find(deps, opEnv) {
		env[o.path] = o.value
	}
	if env["NETRC"] != netrcPath || env["GIT_CONFIG_KEY_0"] != "credential.https://git.example.com.helper" || !strings.Contains(env["GIT_CONFIG_VALUE_0"], "$"+gitTokenVar) {
		t.Fatalf("deps env %v", env)
	}
	if _, ok := env[gitTokenVar]; ok {
		t.Fatal("the token is a plain variable")
	}
	// The exec comes last: the credentials are in place when it runs.
	if deps[len(deps)-1].kind != opExec {
		t.Fatal("exec is not last")
	}
	for _, n := range []job.StepName{job.StepSetup, job.StepProbe, job.StepTest} {
		for _, o := range stepOps(s, stepOf(t, s, n), cred, "call1") {
			if o.kind == opMountSecret || o.kind == opSecretEnv || o.path == "NETRC" || strings.HasPrefix(o.path, "GIT_CONFIG") {
				t.Fatalf("%s gets a credential: %+v", n, o)
			}
		}
	}
	for _, o := range baseOps(s) {
		if o.kind == opMountSecret || o.kind == opSecretEnv {
			t.Fatalf("a credential in the cell's base container: %+v", o)
		}
	}
	// Under attach-insecure the steps run as root, and so must own the netrc.
	a := planDagger(t, policies.Options{Ptrace: policies.PtraceAttach})
	if m := find(stepOps(a, stepOf(t, a, job.StepDeps), cred, "call1"), opMountSecret); m[0].owner != "0:0" {
		t.Fatalf("netrc owner under attach %q", m[0].owner)
	}
}

// TestDecisionListsCredentials: the deps-env decision names the secrets,
// not their values.
func TestDecisionListsCredentials(t *testing.T) {
	cred := credentials{netrc: true, gitToken: true, gitHost: "github.com"}
	s := planDagger(t, policies.Options{DepsSecrets: cred.names()})
	for _, d := range s.Decisions {
		if d.Policy == policies.IDDepsEnv {
			if !strings.Contains(d.Reason, "NETRC (secret)") || !strings.Contains(d.Reason, "git token for github.com (secret)") {
				t.Fatalf("deps-env decision %q", d.Reason)
			}
			return
		}
	}
	t.Fatal("no deps-env decision")
}

// TestClaimsMatchTheEngine: what the plan for this engine's Traits claims
// is what the probe measured on a real v0.21.8 engine (2026-11-27):
// NoNewPrivs 0 in every cell, uid 65534, and uid 0 under attach-insecure.
func TestClaimsMatchTheEngine(t *testing.T) {
	rt := (&Engine{native: matrix.AMD64}).Traits()
	for level, probe := range map[policies.PtraceLevel]map[string]string{
		policies.PtraceAuto:   {"uid": "65534", "NoNewPrivs": "0", "rootfs": "readonly", "CapEff": "0000000000000000"},
		policies.PtraceAttach: {"uid": "0", "NoNewPrivs": "0", "rootfs": "writable"},
	} {
		s, err := policies.Plan(matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}, matrix.Builtin(), policies.Options{Ptrace: level}, rt)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range policies.Claims(s) {
			if probe[k] != want {
				t.Errorf("--ptrace=%q: the decisions claim %s=%s; measured %q", level, k, want, probe[k])
			}
		}
		// The ops follow the claims: root exactly when claimed.
		user := stepOps(s, stepOf(t, s, job.StepTest), credentials{}, "call1")[0].value
		if uid, _, _ := strings.Cut(user, ":"); uid != probe["uid"] {
			t.Errorf("--ptrace=%q: steps run as %s, measured uid %s", level, user, probe["uid"])
		}
	}
}

// TestSourceCopyIsAUserDirectory: Dagger mounts a tmpfs root-owned with
// mode 0755 (measured on v0.21.8: "cp: cannot create regular file
// '/work/x': Permission denied" for uid 65534), so the writable copy is a
// directory of the test step's own layer, owned by the test user, with
// go.mod on top.
func TestSourceCopyIsAUserDirectory(t *testing.T) {
	s := planDagger(t, policies.Options{SourceMode: policies.SourceCopy})
	var test job.Step
	for _, st := range s.Steps {
		if st.Name == job.StepTest {
			test = st
		}
	}
	ops := stepOps(s, test, credentials{}, "call1")
	dirs := find(ops, opUserDir)
	if len(dirs) < 1 || dirs[0].path != policies.CopyDir || dirs[0].owner != "65534:65534" {
		t.Fatalf("copy directory %+v", dirs)
	}
	for _, o := range find(ops, opMountTemp) {
		if o.path == policies.CopyDir {
			t.Fatalf("the copy is a root-owned tmpfs: %+v", o)
		}
	}
	if f := find(ops, opMountSourceFile); len(f) == 0 || f[0].path != policies.CopyDir+"/go.mod" {
		t.Fatalf("kept files %+v", f)
	}
}

// TestTestStdoutGoesToAFile: the test step's stdout is redirected to a file
// of the step's own directory (owned by the test user) and read back as a
// stream; the other steps' stdout stays with the engine.
func TestTestStdoutGoesToAFile(t *testing.T) {
	s := planDagger(t, policies.Options{})
	for _, st := range s.Steps {
		ops := stepOps(s, st, credentials{}, "call1")
		exec := ops[len(ops)-1]
		dirs := slices.DeleteFunc(find(ops, opUserDir), func(o op) bool { return strings.HasPrefix(o.path, "/cache/") })
		if st.Name != job.StepTest {
			if exec.stdout != "" || len(dirs) != 0 {
				t.Errorf("%s: stdout %q, dirs %+v", st.Name, exec.stdout, dirs)
			}
			continue
		}
		if exec.stdout != testStdout || len(dirs) != 1 || dirs[0].path != testOutDir || dirs[0].owner != s.User {
			t.Errorf("test step: stdout %q, dirs %+v", exec.stdout, dirs)
		}
	}
}

// TestDepsStepIsNeverReplayed: the engine caches an exec by its inputs,
// not by what a cache volume holds, so a deps step replayed from an
// earlier call would not verify the module cache this call reads. The
// deps step carries the call's nonce: two calls never share it, while the
// build and test steps stay the same from call to call (replayed while
// the source is unchanged). Its command still downloads and verifies.
func TestDepsStepIsNeverReplayed(t *testing.T) {
	s := planDagger(t, policies.Options{})
	nonce := func(ops []op) string {
		for i, o := range ops {
			if o.kind == opEnv && o.path == callVar {
				if slices.ContainsFunc(ops[i+1:], func(o op) bool {
					return o.kind == opExec && slices.Contains(o.args, "go mod download && go mod verify")
				}) {
					return o.value
				}
			}
		}
		return ""
	}
	one, two := stepOps(s, stepOf(t, s, job.StepDeps), credentials{}, "call1"), stepOps(s, stepOf(t, s, job.StepDeps), credentials{}, "call2")
	if nonce(one) != "call1" || nonce(two) != "call2" {
		t.Fatalf("deps ops carry %q and %q, want each call's nonce before the download and verify", nonce(one), nonce(two))
	}
	for _, n := range []job.StepName{job.StepProbe, job.StepBuild, job.StepTest} {
		a, b := stepOps(s, stepOf(t, s, n), credentials{}, "call1"), stepOps(s, stepOf(t, s, n), credentials{}, "call2")
		if !slices.EqualFunc(a, b, func(x, y op) bool {
			return x.kind == y.kind && x.path == y.path && x.value == y.value && slices.Equal(x.args, y.args)
		}) {
			t.Errorf("%s differs between calls: it would never be replayed", n)
		}
	}
	if newCall() == newCall() {
		t.Error("two calls got one nonce")
	}
}

// TestTestStepReadsCopies: Dagger cannot mount a cache read-only, so the
// test step never mounts a cache volume where its command runs: each cache
// is mounted aside, copied into a directory of the step's own layer, and
// unmounted before the command. Steps that run none of the module's code
// (build) mount the volumes themselves.
func TestTestStepReadsCopies(t *testing.T) {
	s := planDagger(t, policies.Options{})
	ops := stepOps(s, stepOf(t, s, job.StepTest), credentials{}, "call1")
	last := len(ops) - 1
	mounted := map[string]bool{}
	for i, o := range ops {
		switch o.kind {
		case opMountCache:
			if !strings.HasPrefix(o.path, viewStage+"/") {
				t.Errorf("the test step mounts %s at %s", o.value, o.path)
			}
			mounted[o.path] = true
		case opUnmount:
			delete(mounted, o.path)
		case opExec:
			if i != last && !strings.HasPrefix(o.args[2], "cp -a") {
				t.Errorf("exec before the test command: %v", o.args)
			}
		}
	}
	if len(mounted) != 0 {
		t.Errorf("still mounted when the tests run: %v", mounted)
	}
	for _, dir := range []string{policies.GoCacheDir, policies.ModCacheDir} {
		if !slices.ContainsFunc(ops, func(o op) bool { return o.kind == opUserDir && o.path == dir && o.owner == s.User }) {
			t.Errorf("no copy of %s in the step's layer", dir)
		}
	}
	for _, o := range find(stepOps(s, stepOf(t, s, job.StepBuild), credentials{}, "call1"), opMountCache) {
		if strings.HasPrefix(o.path, viewStage) {
			t.Errorf("the build step got a copy of %s", o.value)
		}
	}
}

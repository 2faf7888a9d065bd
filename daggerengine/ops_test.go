package daggerengine

import (
	"slices"
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
	caches := find(ops, opMountCache)
	if len(caches) != 2 || caches[0].value != "parity-go1.27.1-glibc-amd64-gocache" || caches[0].owner != "65534:65534" {
		t.Fatalf("caches %+v", caches)
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
	ops := stepOps(s, test)
	if ops[0].kind != opUser || ops[0].value != "65534:65534" {
		t.Fatalf("first op %+v", ops[0])
	}
	last := ops[len(ops)-1]
	if last.kind != opExec || last.insecure || !slices.Equal(last.args[:3], []string{"go", "test", "-json"}) {
		t.Fatalf("exec %+v", last)
	}
	if e := find(ops, opEnv); len(e) != 1 || e[0].path != "GOPROXY" || e[0].value != "off" {
		t.Fatalf("step env %+v", e)
	}
}

func TestAttachIsInsecureRoot(t *testing.T) {
	s := planDagger(t, policies.Options{Ptrace: policies.PtraceAttach})
	ops := stepOps(s, s.Steps[len(s.Steps)-1])
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

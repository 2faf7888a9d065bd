package probe

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

func spec(libc matrix.Libc, cgo string) job.Spec {
	return job.Spec{Cell: matrix.Cell{Go: "1.26.8", Libc: libc, Arch: matrix.AMD64}, Env: []string{"CGO_ENABLED=" + cgo, "TZ=UTC"}}
}

var good = map[string]string{
	"uname_m": "x86_64", "goarch": "amd64", "go_version": "go1.26.8", "cgo_enabled": "1",
	"cc_libc": "musl", "loaders": "musl glibc", "rootfs": "readonly", "source": "readonly", "tmp_exec": "yes",
}

func with(k, v string) map[string]string {
	m := map[string]string{}
	for a, b := range good {
		m[a] = b
	}
	m[k] = v
	return m
}

func TestVerify(t *testing.T) {
	if err := Verify(spec(matrix.Musl, "1"), good); err != nil {
		t.Fatalf("a matching cell failed: %v", err)
	}
	for _, tc := range []struct {
		name  string
		spec  job.Spec
		probe map[string]string
		want  string
	}{
		{"wrong arch", spec(matrix.Musl, "1"), with("uname_m", "aarch64"), `uname -m: got "aarch64"`},
		{"wrong go", spec(matrix.Musl, "1"), with("go_version", "go1.27.1"), "go_version: want go1.26.8"},
		{"cc links glibc", spec(matrix.Musl, "1"), with("cc_libc", "glibc"), "cc_libc: want musl"},
		{"no compiler", spec(matrix.Musl, "1"), with("cc_libc", "none"), "cc_libc: want musl"},
		{"cgo not as set", spec(matrix.Musl, "1"), with("cgo_enabled", "0"), "cgo_enabled: want 1"},
		{"no loader without cgo", spec(matrix.Glibc, "0"), with("loaders", "musl"), "no glibc dynamic loader"},
		{"writable rootfs", spec(matrix.Musl, "1"), with("rootfs", "writable"), "rootfs: want readonly"},
		{"writable source", spec(matrix.Musl, "1"), with("source", "writable"), "source: want readonly"},
		{"noexec tmp", spec(matrix.Musl, "1"), with("tmp_exec", "no"), "tmp_exec: want yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.probe
			if tc.spec.Env[0] == "CGO_ENABLED=0" {
				p["cgo_enabled"] = "0"
			}
			err := Verify(tc.spec, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestScriptRunsHere runs the real script with the host's sh and go, so a
// syntax error or a wrong key cannot hide until a container runs it.
func TestScriptRunsHere(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go on PATH")
	}
	out, err := exec.Command("sh", "-c", Script).CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	p := Parse(string(out))
	for _, k := range []string{"uname_m", "go_version", "goarch", "cgo_enabled", "cc", "loaders", "cc_libc", "uid", "CapEff", "rootfs", "source", "tmp_exec"} {
		if _, ok := p[k]; !ok {
			t.Errorf("probe lacks %s:\n%s", k, out)
		}
	}
	if !strings.HasPrefix(p["go_version"], "go1.") || p["loaders"] == "" {
		t.Errorf("unexpected host probe: %v", p)
	}
}

// TestVerifyNewArches: a 386 cell on an amd64 kernel reports x86_64 from
// uname and 386 from go env; an s390x cell must not pass as amd64.
func TestVerifyNewArches(t *testing.T) {
	s := spec(matrix.Glibc, "1")
	s.Cell.Arch = matrix.I386
	p := with("goarch", "386")
	p["cc_libc"] = "glibc"
	if err := Verify(s, p); err != nil {
		t.Errorf("386 userland on an amd64 kernel refused: %v", err)
	}
	p["goarch"] = "amd64"
	if err := Verify(s, p); err == nil || !strings.Contains(err.Error(), "goarch: want 386") {
		t.Errorf("an amd64 Go in a 386 cell: %v", err)
	}
	s.Cell.Arch = matrix.S390X
	p = with("goarch", "s390x")
	p["cc_libc"] = "glibc"
	if err := Verify(s, p); err == nil || !strings.Contains(err.Error(), `uname -m: got "x86_64", the cell claims s390x`) {
		t.Errorf("an x86_64 kernel in an s390x cell: %v", err)
	}
	p["uname_m"] = "s390x"
	if err := Verify(s, p); err != nil {
		t.Errorf("s390x cell: %v", err)
	}
}

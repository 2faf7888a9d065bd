package cachedir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
)

var docker = policies.Traits{Name: "docker", ReadOnlyCaches: true, CacheViews: true, NativeArch: matrix.AMD64}

func specs(t *testing.T, o policies.Options, pins matrix.Pins, cells ...matrix.Cell) []job.Spec {
	t.Helper()
	var out []job.Spec
	for _, c := range cells {
		s, err := policies.Plan(c, pins, o, docker)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

var (
	glibc = matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}
	musl  = matrix.Cell{Go: "1.27.1", Libc: matrix.Musl, Arch: matrix.AMD64}
)

func keys(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Kind)+" "+e.Key+" "+e.File)
	}
	return out
}

// TestVolumesAndKeys: one module cache, a build cache and a seed per cell,
// each once; the keys name what makes the content valid and nothing of
// the machine, so another machine (another cache scope, an untrusted run's
// own volumes) restores them.
func TestVolumesAndKeys(t *testing.T) {
	a := Volumes(specs(t, policies.Options{CacheScope: "parity-aaa"}, matrix.Builtin(), glibc, musl))
	var kinds []Kind
	for _, e := range a {
		kinds = append(kinds, e.Kind)
		if e.Volume == "" || e.Spec == nil {
			t.Errorf("%+v: no volume or spec", e)
		}
	}
	if !slices.Equal(kinds, []Kind{Build, Modules, Std, Build, Std}) {
		t.Fatalf("kinds %v", kinds)
	}
	b := Volumes(specs(t, policies.Options{CacheScope: "parity-bbb"}, matrix.Builtin(), glibc, musl))
	private := Volumes(specs(t, policies.Options{CacheScope: "parity-bbb-u1234", PrivateSeeds: true}, matrix.Builtin(), glibc, musl))
	if !slices.Equal(keys(a), keys(b)) || !slices.Equal(keys(a), keys(private)) {
		t.Fatalf("keys depend on the machine:\n%v\n%v\n%v", keys(a), keys(b), keys(private))
	}
	if a[0].Volume == b[0].Volume {
		t.Fatal("the test means nothing: same volumes")
	}
	// Another image for the cell: its build cache and seed are other
	// entries; the module cache is the same.
	d := "sha256:" + strings.Repeat("9", 64)
	lock := matrix.Builtin().Merge([]matrix.Pin{{Go: "1.27.1", Libc: matrix.Glibc, Image: "golang:1.27.1-trixie@" + d}})
	other := Volumes(specs(t, policies.Options{CacheScope: "parity-aaa"}, lock, glibc))
	if other[0].Key == a[0].Key || other[2].Key == a[2].Key || other[1].Key != a[1].Key {
		t.Fatalf("another image: %v against %v", keys(other), keys(a))
	}
	// With -race off the seed differs, the build cache does not (go keys
	// its outputs by flags).
	off := Volumes(specs(t, policies.Options{CacheScope: "parity-aaa", Race: policies.Off}, matrix.Builtin(), glibc))
	if off[2].Key == a[2].Key || off[0].Key != a[0].Key {
		t.Fatalf("race off: %v against %v", keys(off), keys(a))
	}
	if e := SetupEntry("parity-setup:abc"); e.File != "setup-abc.tar" || e.Key != "parity-setup:abc" {
		t.Fatal(e)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := Read(dir); ok || err != nil {
		t.Fatalf("empty directory: %v %v", ok, err)
	}
	for _, f := range []string{"modules.tar", "old-cell.tar", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := Manifest{Parity: "v1", Entries: []Entry{{Kind: Modules, Key: "modules", File: "modules.tar", Bytes: 3}}}
	if err := Write(dir, m); err != nil {
		t.Fatal(err)
	}
	got, ok, err := Read(dir)
	if !ok || err != nil || got.Layout != Layout || len(got.Entries) != 1 {
		t.Fatalf("read back %+v %v %v", got, ok, err)
	}
	if e, ok := got.Find(Entry{Kind: Modules, Key: "modules"}); !ok || e.File != "modules.tar" {
		t.Fatal("find")
	}
	if _, ok := got.Find(Entry{Kind: Build, Key: "modules"}); ok {
		t.Fatal("found by key alone")
	}
	// What no entry names is removed; files not Parity's stay.
	if _, err := os.Stat(filepath.Join(dir, "old-cell.tar")); err == nil {
		t.Error("a stale cache file stayed")
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Error("a file that is not a cache was removed")
	}
}

func TestReadRefuses(t *testing.T) {
	for name, body := range map[string]string{
		"layout":   `{"layout":99,"entries":[]}`,
		"escape":   `{"layout":1,"entries":[{"kind":"modules","key":"modules","file":"../x.tar"}]}`,
		"absolute": `{"layout":1,"entries":[{"kind":"modules","key":"modules","file":"/etc/passwd"}]}`,
		"json":     `{`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := Read(dir); ok || err == nil || !strings.Contains(err.Error(), "--cache-dir") {
			t.Errorf("%s: %v %v", name, ok, err)
		}
	}
}

package pipeline

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// Values that used to pass until a daemon was asked are refused by the
// request, naming the flag.
func TestRequestRefusesValuesThatReachedTheDaemon(t *testing.T) {
	for name, tc := range map[string]struct {
		req  Request
		want string
	}{
		"packages up":       {Request{Packages: []string{"../../etc"}}, `--packages "../../etc": outside the module`},
		"packages abs":      {Request{Packages: []string{"./..., /etc"}}, `--packages "/etc": outside the module`},
		"packages dotdot":   {Request{Packages: []string{"./a/../../b/..."}}, `outside the module`},
		"cpus zero":         {Request{CellCPUs: "0"}, `--cell-cpus "0"`},
		"cpus NaN":          {Request{CellCPUs: "NaN"}, `--cell-cpus "NaN"`},
		"cpus huge":         {Request{CellCPUs: "1e9"}, `--cell-cpus "1e9"`},
		"cpus Inf":          {Request{CellCPUs: "+Inf"}, `--cell-cpus "+Inf"`},
		"mirror port":       {Request{RegistryMirror: "mirror.example:99999"}, `--registry-mirror: mirror "mirror.example:99999": port`},
		"mirror from env":   {Request{RegistryMirror: "garbage", MirrorFrom: MirrorEnv}, `PARITY_REGISTRY_MIRROR=garbage: `},
		"deps env space":    {Request{DepsEnv: map[string]string{"A B": "c"}}, `--deps-env "A B": a variable name`},
		"deps env digit":    {Request{DepsEnv: map[string]string{"1A": "c"}}, `--deps-env "1A"`},
		"go banana":         {Request{Go: []string{"banana"}}, `--go "banana": not a Go version`},
		"go x":              {Request{Go: []string{"1.26.x"}}, `--go "1.26.x"`},
		"go empty item":     {Request{Go: []string{"1.26.8,,go"}}, `--go "go"`},
		"go flag elsewhere": {Request{Go: []string{"1.26.8", "-1"}}, `--go "-1"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.req.Inputs([]byte("module m\n"), nil, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tc.want)
			}
			if name == "mirror from env" && strings.Contains(err.Error(), "--registry-mirror") {
				t.Fatalf("names a flag the user never gave: %v", err)
			}
		})
	}
	for _, ok := range []Request{
		{Packages: []string{"./...", "./a/../b", "example.com/m/...", "std"}},
		{CellCPUs: "0.5"}, {CellCPUs: ""}, {CellCPUs: "1024"},
		{Go: []string{"go1.27.1"}},
		{DepsEnv: map[string]string{"GOPROXY": "off", "_X1": ""}},
		{RegistryMirror: "mirror.example:5000/x"},
	} {
		if _, err := ok.Inputs([]byte("module m\n"), nil, ""); err != nil {
			t.Errorf("%+v refused: %v", ok, err)
		}
	}
}

// go1.27.1 (as cells print it) plans the same cells as 1.27.1.
func TestGoPrefixIsAccepted(t *testing.T) {
	p, err := MakePlan(inputs(t, "module m\n", Request{Go: []string{"go1.27.1"}}), docker)
	if err != nil || len(p.Specs) != 4 || p.Specs[0].Cell.Go != "1.27.1" {
		t.Fatalf("%v: %d specs", err, len(p.Specs))
	}
}

// A lock's errors name the file as the user gave it.
func TestLockErrorsNameTheGivenFile(t *testing.T) {
	for _, lock := range []string{"", "[]", `{"version":2,"pins":[]}`} {
		in, err := Request{}.Inputs([]byte("module m\n"), []byte(lock), "other.json")
		if err == nil {
			_, err = MakePlan(in, docker)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "other.json: ") {
			t.Errorf("lock %q: err = %v", lock, err)
		}
	}
}

func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "parity test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestCheckCABundle(t *testing.T) {
	cert := selfSigned(t)
	if err := CheckCABundle("--ca-bundle ca.pem", append(append([]byte("# corp\n"), cert...), cert...)); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":     {nil, "--ca-bundle ca.pem: empty file"},
		"blank":     {[]byte("\n \n"), "--ca-bundle ca.pem: empty file"},
		"not PEM":   {[]byte("hello"), "--ca-bundle ca.pem: no PEM certificate"},
		"a key":     {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}), "no PEM certificate"},
		"corrupted": {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), "certificate 1 does not parse"},
	} {
		t.Run(name, func(t *testing.T) {
			err := CheckCABundle("--ca-bundle ca.pem", tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if err := CheckCABundle("PARITY_CA_BUNDLE=/x", nil); err == nil || !strings.HasPrefix(err.Error(), "PARITY_CA_BUNDLE=/x: ") {
		t.Fatalf("err = %v", err)
	}
}

const goodSum = "golang.org/x/mod v0.43.0 h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n" +
	"golang.org/x/mod v0.43.0/go.mod h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"

func TestCheckSource(t *testing.T) {
	mod := &fstest.MapFile{Data: []byte("module example.com/m\n\ngo 1.26\n\nrequire golang.org/x/mod v0.43.0\n"), Mode: 0o644}
	pkg := &fstest.MapFile{Data: []byte("package m\n"), Mode: 0o644}
	good := fstest.MapFS{"go.mod": mod, "go.sum": {Data: []byte(goodSum), Mode: 0o644}, "m.go": pkg}
	if err := CheckSource(good, "--source .", "."); err != nil {
		t.Fatal(err)
	}
	vendored := fstest.MapFS{"go.mod": mod, "m.go": pkg, "vendor/modules.txt": {Data: []byte("# golang.org/x/mod v0.43.0\n## explicit; go 1.23\ngolang.org/x/mod/semver\n"), Mode: 0o644}}
	if err := CheckSource(vendored, "--source .", "."); err != nil {
		t.Fatalf("consistent vendor/: %v", err)
	}
	with := func(name, data string) fstest.MapFS {
		fs := fstest.MapFS{}
		for k, v := range good {
			fs[k] = v
		}
		fs[name] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
		return fs
	}
	without := func(fs fstest.MapFS, name string) fstest.MapFS { delete(fs, name); return fs }
	for name, tc := range map[string]struct {
		fs   fstest.MapFS
		want string
	}{
		"garbage sum":    {with("go.sum", "this is not a go.sum\n"), "go.sum line 1: want three fields"},
		"bad hash":       {with("go.sum", "golang.org/x/mod v0.43.0 h1:tampered\n"), `go.sum line 1: "h1:tampered" is not an h1: hash`},
		"bad version":    {with("go.sum", "golang.org/x/mod vX h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"), `"vX" is not a module version`},
		"two hashes":     {with("go.sum", goodSum+"golang.org/x/mod v0.43.0 h1:AAAAQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"), "has two different hashes"},
		"vendor version": {with("vendor/modules.txt", "# golang.org/x/mod v0.42.0\n## explicit\n"), "required at v0.43.0 but vendored at v0.42.0"},
		"vendor missing": {with("vendor/modules.txt", "# golang.org/x/sync v0.1.0\n## explicit\n"), "golang.org/x/mod v0.43.0 is required but not vendored (and 1 more)"},
		"vendor no txt":  {with("vendor/golang.org/x/mod/semver/semver.go", "package semver\n"), "vendor/ has no modules.txt"},
		"no packages":    {without(with("testdata/x.go", "package x\n"), "m.go"), "no Go packages"},
		"nested only":    {without(with("sub/go.mod", "module sub\n"), "m.go"), "no Go packages"},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "nested only" {
				tc.fs["sub/s.go"] = pkg
			}
			err := CheckSource(tc.fs, "--source .", ".")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "--source .: ") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// An empty or broken go.mod is MakePlan's to report.
	if err := CheckSource(fstest.MapFS{"go.mod": {Data: nil}}, "--source .", "."); err != nil {
		t.Fatal(err)
	}
}

// A source the cells' user (65534) cannot read is refused with the fix.
func TestCheckSourceReadable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module m\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "m.go"), []byte("package m\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "secret.go"), []byte("package sub\n"), 0o600)
	os.Chmod(dir, 0o755)
	if err := CheckSourceDir(dir, "--source "+dir); err == nil || !strings.Contains(err.Error(), "sub/secret.go (mode 0600)") || !strings.Contains(err.Error(), "chmod -R a+rX "+dir) {
		t.Fatalf("err = %v", err)
	}
	os.Chmod(filepath.Join(dir, "sub", "secret.go"), 0o644)
	if err := CheckSourceDir(dir, "--source "+dir); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o700) // umask 077
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if err := CheckSourceDir(dir, "--source "+dir); err == nil || !strings.Contains(err.Error(), dir+" (mode 0700)") || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("err = %v", err)
	}
}

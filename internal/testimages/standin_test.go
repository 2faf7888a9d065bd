package testimages

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStandInTree lays out the s390x stand-in from fake parts: busybox and
// its applets on merged /usr, glibc's loader where the probe looks for it,
// nobody in passwd, a sticky /tmp.
func TestStandInTree(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox")
	libs := filepath.Join(dir, "lib")
	for name, content := range map[string]string{"busybox": "ELF", "lib/ld64.so.1": "loader", "lib/libc.so.6": "libc", "lib/libc.a": "static"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(dir, "rootfs")
	if err := standInTree(root, bb, libs, "s390x-linux-gnu"); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p)) // through the symlinks
		if err != nil {
			t.Errorf("/%s: %v", p, err)
		}
		return string(b)
	}
	if read("bin/sh") != "ELF" || read("usr/bin/chown") != "ELF" || read("lib/ld64.so.1") != "loader" || read("lib/s390x-linux-gnu/libc.so.6") != "libc" {
		t.Error("busybox applets or glibc not where programs look for them")
	}
	if _, err := os.Lstat(filepath.Join(root, "usr/lib/s390x-linux-gnu/libc.a")); err == nil {
		t.Error("static archives copied into the image")
	}
	if !hasUID([]byte(read("etc/passwd")), "65534") {
		t.Error("no nobody in /etc/passwd")
	}
	if fi, err := os.Stat(filepath.Join(root, "tmp")); err != nil || fi.Mode()&fs.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("/tmp: %v %v", fi, err)
	}
	for _, a := range []string{"sh", "uname", "id", "chown", "cat", "printf", "true", "grep", "rm", "chmod"} {
		if !slices.Contains(busyboxApplets, a) {
			t.Errorf("Parity's steps run %s, which the stand-in lacks", a)
		}
	}
}

func TestEditConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".config")
	if err := os.WriteFile(p, []byte("# CONFIG_STATIC is not set\nCONFIG_TC=y\nCONFIG_LS=y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := editConfig(p, map[string]string{"CONFIG_STATIC": "y", "CONFIG_TC": ""}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "CONFIG_STATIC=y\n# CONFIG_TC is not set\nCONFIG_LS=y\n" {
		t.Errorf(".config = %q", b)
	}
}

// TestToolchainZip: a toolchain zip made from a GOROOT has the module
// proxy's layout (prefix, _go.mod), the cross-built programs in place of
// the host's, and writeGoLayer takes it as it takes a downloaded one.
func TestToolchainZip(t *testing.T) {
	dir := t.TempDir()
	goroot := filepath.Join(dir, "go")
	for name, content := range map[string]string{
		"VERSION": "go1.26.8\n", "src/go.mod": "module std\n", "src/fmt/print.go": "package fmt\n",
		"bin/go": "host go", "pkg/tool/linux_amd64/compile": "host compile", "pkg/include/textflag.h": "//\n",
		"out/bin/go": "s390x go", "out/tool/compile": "s390x compile",
	} {
		p := filepath.Join(goroot, name)
		if strings.HasPrefix(name, "out/") { // the cross-built programs, outside GOROOT
			p = filepath.Join(dir, name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	z := filepath.Join(dir, "tc.zip")
	if err := writeToolchainZip(z, goroot, filepath.Join(dir, "out/bin"), filepath.Join(dir, "out/tool"), "1.26.8", "s390x"); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(z)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, strings.TrimPrefix(f.Name, "golang.org/toolchain@v0.0.1-go1.26.8.linux-s390x/"))
	}
	zr.Close()
	slices.Sort(names)
	want := []string{"VERSION", "bin/go", "pkg/include/textflag.h", "pkg/tool/linux_s390x/compile", "src/_go.mod", "src/fmt/print.go"}
	if !slices.Equal(names, want) {
		t.Errorf("zip entries %q, want %q", names, want)
	}
	var layer bytes.Buffer
	if err := writeGoLayer(z, &layer); err != nil {
		t.Fatalf("writeGoLayer: %v", err)
	}
}

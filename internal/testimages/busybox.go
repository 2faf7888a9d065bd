package testimages

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// standIn lists the arches whose glibc image is not Debian, and why: the
// Debian mirror this project reaches serves no s390x packages (404 for
// every pool/main/*_s390x.deb; it has amd64, arm64, i386, armhf and
// riscv64), so debootstrap --arch=s390x cannot work. Their base layer is
// a static busybox cross-compiled from Debian's busybox source with
// Debian's s390x cross compiler, plus the s390x glibc of Debian's
// libc6-s390x-cross (so the image has glibc's loader, /lib/ld64.so.1):
// a shell and the usual utilities, no C compiler, no package manager. Go
// runs there with CGO_ENABLED=0 (--cgo=off).
var standIn = map[string]string{
	"s390x": "s390x-linux-gnu",
}

// busybox is the Debian source Parity builds the stand-in's userland from,
// checked against the digest Debian's busybox_1.35.0-4.dsc lists.
const (
	busyboxVersion = "1.35.0"
	busyboxTarball = "pool/main/b/busybox/busybox_1.35.0.orig.tar.bz2"
	busyboxSHA256  = "faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694"
)

// hostDebianMirror is the Debian archive this machine's apt is set up
// with (the first URI of /etc/apt/sources.list.d/*.sources or
// /etc/apt/sources.list ending in /debian), so the download goes where
// apt-get goes; "" when none is configured.
func hostDebianMirror() string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append(files, "/etc/apt/sources.list")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(strings.TrimSpace(line))
			var uris []string
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:":
				uris = fields[1:]
			case len(fields) >= 3 && fields[0] == "deb":
				uris = fields[1:2]
				if strings.HasPrefix(fields[1], "[") && len(fields) >= 4 {
					uris = fields[2:3]
				}
			}
			for _, u := range uris {
				if strings.HasSuffix(strings.TrimSuffix(u, "/"), "/debian") {
					return strings.TrimSuffix(u, "/")
				}
			}
		}
	}
	return ""
}

// CrossPackages are the host packages a stand-in layer needs: Debian's
// cross compiler and the target's glibc (arch all), per arch.
func CrossPackages(arch string) []string {
	t, ok := standIn[arch]
	if !ok {
		return nil
	}
	return []string{"gcc-" + t, "libc6-dev-" + debianArch(arch) + "-cross", "make", "bzip2"}
}

func (b *builder) baseKey(arch string) string {
	if _, ok := standIn[arch]; ok {
		return fmt.Sprintf("%s-busybox%s-%s-glibc-%s", recipe, busyboxVersion, standInRev, arch)
	}
	return b.debianKey(arch, "gcc")
}

// standInLayer ensures the stand-in base layer of arch.
func (b *builder) standInLayer(ctx context.Context, arch string) error {
	key := b.baseKey(arch)
	if done, err := b.cached(key); done || err != nil {
		return err
	}
	start := time.Now()
	triplet := standIn[arch]
	work, done, err := b.scratch(arch + "-")
	if err != nil {
		return err
	}
	defer done()
	src := filepath.Join(work, "busybox")
	if err := b.busyboxSource(ctx, src); err != nil {
		return err
	}
	env := append(chrootEnv(), "KCONFIG_NOTIMESTAMP=1")
	if err := b.run.runIn(ctx, src, env, nil, "make", "-s", "defconfig"); err != nil {
		return fmt.Errorf("busybox defconfig: %w", err)
	}
	// Static, so nothing but the kernel is needed to run it; tc does not
	// build against newer kernel headers and no test needs it.
	cfg := filepath.Join(src, ".config")
	if err := editConfig(cfg, map[string]string{"CONFIG_STATIC": "y", "CONFIG_TC": ""}); err != nil {
		return err
	}
	b.opts.Logf("testimages: cross-compiling busybox %s for %s (takes minutes)", busyboxVersion, arch)
	if err := b.run.runIn(ctx, src, env, nil, "make", "-s", "-j2", "CROSS_COMPILE="+triplet+"-", "busybox"); err != nil {
		return fmt.Errorf("building busybox for %s: %w", arch, err)
	}
	rootfs := filepath.Join(work, "rootfs")
	if err := standInTree(rootfs, filepath.Join(src, "busybox"), "/usr/"+triplet+"/lib", triplet); err != nil {
		return err
	}
	createdBy := fmt.Sprintf("parity testimages: %s stand-in (Debian's %s packages are not on this mirror): static busybox %s cross-compiled with Debian's %s-gcc, glibc from Debian's libc6-%s-cross; no C compiler", arch, arch, busyboxVersion, triplet, debianArch(arch))
	m, err := b.cache.create(key, "", createdBy, func(w io.Writer) error {
		_, err := writeTreeLayer(rootfs, w, nil)
		return err
	})
	if err != nil {
		return err
	}
	b.record(m)
	b.opts.Logf("testimages: built %s: %d MB in %.1fs", m.Key, m.Size>>20, time.Since(start).Seconds())
	return nil
}

// busyboxSource downloads Debian's busybox tarball, checks its digest and
// unpacks it into dir.
func (b *builder) busyboxSource(ctx context.Context, dir string) error {
	mirror := b.opts.Mirror
	if mirror == "" {
		mirror = hostDebianMirror()
	}
	if mirror == "" {
		return fmt.Errorf("the s390x stand-in needs Debian's busybox source: no Debian archive in this machine's apt sources (give Options.Mirror)")
	}
	url := strings.TrimSuffix(mirror, "/") + "/" + busyboxTarball
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("downloading %s: %w", url, err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != busyboxSHA256 {
		return fmt.Errorf("%s: sha256 %s, Debian's .dsc lists %s", url, got, busyboxSHA256)
	}
	tarball := dir + ".tar.bz2"
	if err := os.WriteFile(tarball, data, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return b.run.run(ctx, chrootEnv(), toolPath("tar"), "-C", dir, "--strip-components=1", "-xjf", tarball)
}

// editConfig sets (value "y") or unsets (value "") Kconfig symbols.
func editConfig(path string, set map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		for sym, v := range set {
			if line == sym+"=y" || line == "# "+sym+" is not set" {
				line = "# " + sym + " is not set"
				if v != "" {
					line = sym + "=" + v
				}
			}
		}
		out.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// busyboxApplets are the programs the stand-in links to busybox: what
// Parity's steps call (probe, deps, compile, the step wrapper, chown of
// the cache volumes, true) and what ordinary test suites run.
var busyboxApplets = []string{
	"sh", "ash", "awk", "basename", "cat", "chgrp", "chmod", "chown", "cmp", "cp", "cut", "date", "diff", "dirname",
	"du", "echo", "env", "expr", "false", "find", "grep", "gunzip", "gzip", "head", "hostname", "id", "kill", "ln",
	"ls", "md5sum", "mkdir", "mktemp", "mv", "nproc", "od", "printf", "ps", "pwd", "readlink", "realpath", "rm",
	"rmdir", "sed", "seq", "sha256sum", "sleep", "sort", "stat", "tail", "tar", "tee", "test", "timeout", "touch",
	"tr", "true", "uname", "uniq", "wc", "which", "whoami", "xargs", "[",
}

// standInRev is part of the stand-in layer's key: bump it whenever
// standInTree or busyboxApplets change what the layer holds.
const standInRev = "s2"

// standInTree lays out the stand-in's root: busybox and its applets in
// /usr/bin (/bin a symlink, as merged-/usr Debian), the target's glibc
// from libDir in /lib/<triplet> with its loader at /lib/<loader>, and the
// files every image has (passwd with nobody, a sticky /tmp).
func standInTree(rootfs, busybox, libDir, triplet string) error {
	for _, d := range []string{"usr/bin", "usr/lib/" + triplet, "etc", "tmp", "root", "proc", "sys", "dev", "var/tmp", "usr/local/bin"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	for link, target := range map[string]string{"bin": "usr/bin", "sbin": "usr/bin", "lib": "usr/lib"} {
		if err := os.Symlink(target, filepath.Join(rootfs, link)); err != nil {
			return err
		}
	}
	if err := copyFile(busybox, filepath.Join(rootfs, "usr/bin/busybox"), 0o755); err != nil {
		return err
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "usr/bin", a)); err != nil {
			return err
		}
	}
	// The shared glibc: loader, libc and the libraries it loads itself.
	entries, err := os.ReadDir(libDir)
	if err != nil {
		return fmt.Errorf("the target's glibc (%s): %w", libDir, err)
	}
	loader := ""
	for _, e := range entries {
		name := e.Name()
		if !strings.Contains(name, ".so") || strings.HasSuffix(name, ".a") || strings.HasSuffix(name, ".o") {
			continue
		}
		info, err := os.Stat(filepath.Join(libDir, name)) // follows links: copies the file
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if strings.HasPrefix(name, "ld") && strings.Contains(name, ".so.") {
			loader = name
		}
		if err := copyFile(filepath.Join(libDir, name), filepath.Join(rootfs, "usr/lib", triplet, name), 0o755); err != nil {
			return err
		}
	}
	if loader == "" {
		return fmt.Errorf("no dynamic loader in %s", libDir)
	}
	if err := os.Symlink(triplet+"/"+loader, filepath.Join(rootfs, "usr/lib", loader)); err != nil {
		return err
	}
	files := map[string]string{
		"etc/passwd":      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"etc/group":       "root:x:0:\nnogroup:x:65534:\n",
		"etc/hostname":    "localhost\n",
		"etc/resolv.conf": "",
		"etc/os-release":  "PRETTY_NAME=\"Parity s390x stand-in (busybox " + busyboxVersion + ", Debian's cross glibc)\"\nID=parity-standin\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(rootfs, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return os.Chmod(filepath.Join(rootfs, "tmp"), 0o777|fs.ModeSticky)
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

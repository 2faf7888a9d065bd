package testimages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// DefaultGoVersion is the Go toolchain the images carry unless
// Options.GoVersions says otherwise.
const DefaultGoVersion = "1.26.8"

// DefaultSuite is the Debian suite the images are built from.
const DefaultSuite = "trixie"

// Arches are the platforms the glibc index can hold (GOARCH names), in
// index order: Debian trixie for amd64, arm64 (debootstrap under
// qemu-user) and 386 (as i386, natively on an amd64 host: the kernel runs
// 32-bit x86 programs); a stand-in for s390x, whose Debian packages this
// project's mirror does not serve (standIn).
var Arches = []string{"amd64", "arm64", "386", "s390x"}

// debianArch is Debian's name of a GOARCH, for debootstrap --arch.
func debianArch(goarch string) string {
	if goarch == "386" {
		return "i386"
	}
	return goarch
}

// recipe is part of every cache key. Bump it whenever a change here alters
// what a layer contains, so that stale cached layers are not reused.
const recipe = "r2"

// Options configures Build. The zero value builds Go 1.26.8 for amd64 only.
type Options struct {
	// CacheDir keeps finished layers between calls and processes. Default:
	// $PARITY_TESTIMAGES_CACHE, else /var/tmp/parity-testimages.
	CacheDir string
	// Arches lists the platforms of the glibc index: any of "amd64",
	// "arm64", "386" and "s390x" (Arches, in that order in the index).
	// Default: amd64 only: arm64 builds under qemu (~3 min), 386 and
	// s390x need their Go cross-built (~2 min each) and s390x a busybox
	// (~1.5 min). The musl index is amd64 only and is built whenever
	// amd64 is listed.
	Arches []string
	// GoVersions lists the Go toolchains to build images for, one glibc and
	// one musl image each. Default: DefaultGoVersion.
	GoVersions []string
	// Suite is the Debian suite. Default: DefaultSuite.
	Suite string
	// Mirror is the Debian mirror for debootstrap. Default: debootstrap's.
	Mirror string
	// Logf receives progress lines (tests pass t.Logf). Default: discard.
	Logf func(format string, args ...any)
}

// Image is one pushed (multi-platform) image.
type Image struct {
	Go   string `json:"go"`   // "1.26.8"
	Libc string `json:"libc"` // "glibc" or "musl"
	// Repo is the repository, e.g. "127.0.0.1:PORT/parity-test/golang".
	Repo string `json:"repo"`
	// Tag is the tag pushed, e.g. "1.26.8-trixie" or "1.26.8-musl".
	Tag string `json:"tag"`
	// Digest is the digest of the image index, "sha256:<hex>".
	Digest string `json:"digest"`
	// Ref is the pinned reference Repo:Tag@Digest, e.g.
	// "127.0.0.1:PORT/parity-test/golang:1.26.8-trixie@sha256:<index digest>".
	Ref string `json:"ref"`
	// Platforms maps "linux/amd64" or "linux/arm64" to the digest of that
	// platform's image manifest. (The arm64 entry's descriptor also carries
	// variant v8, as Docker Hub's golang images do.)
	Platforms map[string]string `json:"platforms"`
}

// DigestRef returns Repo@Digest: the index pinned by digest, without the tag
// (older Docker daemons reject name:tag@digest in pulls).
func (i Image) DigestRef() string { return i.Repo + "@" + i.Digest }

// PlatformRef returns Repo@<manifest digest> for platform ("linux/amd64"),
// and false if the image has no such platform.
func (i Image) PlatformRef(platform string) (string, bool) {
	d, ok := i.Platforms[platform]
	if !ok {
		return "", false
	}
	return i.Repo + "@" + d, true
}

// DefaultCacheDir returns $PARITY_TESTIMAGES_CACHE, else
// /var/tmp/parity-testimages (/var/tmp because it survives reboots and is
// on the disk, not a tmpfs: the cache holds ~1 GB with arm64).
func DefaultCacheDir() string {
	if d := os.Getenv("PARITY_TESTIMAGES_CACHE"); d != "" {
		return d
	}
	return "/var/tmp/parity-testimages"
}

var (
	goVersionRE = regexp.MustCompile(`^1\.[0-9]+(\.[0-9]+)?((rc|beta)[0-9]+)?$`)
	suiteRE     = regexp.MustCompile(`^[a-z]+$`)
)

func (o Options) normalize() (Options, error) {
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	abs, err := filepath.Abs(o.CacheDir)
	if err != nil {
		return o, fmt.Errorf("testimages: cache dir %q: %w", o.CacheDir, err)
	}
	o.CacheDir = abs
	if len(o.Arches) == 0 {
		o.Arches = []string{"amd64"}
	}
	var arches []string
	for _, a := range Arches { // fixed order: amd64 first in every index
		if slices.Contains(o.Arches, a) {
			arches = append(arches, a)
		}
	}
	for _, a := range o.Arches {
		if !slices.Contains(Arches, a) {
			return o, fmt.Errorf("testimages: unsupported arch %q (want %s)", a, strings.Join(Arches, ", "))
		}
	}
	o.Arches = arches
	if len(o.GoVersions) == 0 {
		o.GoVersions = []string{DefaultGoVersion}
	}
	for _, v := range o.GoVersions {
		if !goVersionRE.MatchString(v) {
			return o, fmt.Errorf("testimages: Go version %q is not like 1.26.8", v)
		}
	}
	o.GoVersions = slices.Compact(slices.Clone(o.GoVersions))
	if o.Suite == "" {
		o.Suite = DefaultSuite
	}
	if !suiteRE.MatchString(o.Suite) {
		return o, fmt.Errorf("testimages: Debian suite %q is not a suite name", o.Suite)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o, nil
}

// Build builds the images described by opts, reusing every layer already in
// the cache, and pushes them to reg. It returns, for each Go version, the
// glibc image and (when amd64 is among the arches) the musl image.
//
// Concurrent callers, in this process or others, are safe: layers are built
// under an exclusive flock on CacheDir/lock, and pushing holds it shared so
// no layer is replaced while it is being read.
func Build(ctx context.Context, reg *Registry, opts Options) ([]Image, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if reg == nil {
		return nil, errors.New("testimages: Build needs a registry (StartRegistry)")
	}
	b := &builder{
		opts:    o,
		cache:   layerCache{dir: filepath.Join(o.CacheDir, "layers")},
		workDir: filepath.Join(o.CacheDir, "work"),
		run:     runner{logf: o.Logf},
		layers:  map[string]*layerMeta{},
	}
	for _, d := range []string{o.CacheDir, b.cache.dir, b.workDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("testimages: creating cache dir: %w", err)
		}
	}
	lock, err := lockFile(ctx, filepath.Join(o.CacheDir, "lock"), syscall.LOCK_EX, o.Logf)
	if err != nil {
		return nil, fmt.Errorf("testimages: %w", err)
	}
	defer lock.Close() // closing releases the flock

	start := time.Now()
	if err := b.ensureLayers(ctx); err != nil {
		return nil, fmt.Errorf("testimages: building layers: %w", err)
	}
	o.Logf("testimages: layers ready in %.1fs", time.Since(start).Seconds())

	if err := relock(ctx, lock, syscall.LOCK_SH, o.Logf); err != nil {
		return nil, fmt.Errorf("testimages: %w", err)
	}
	start = time.Now()
	images, err := b.pushAll(ctx, reg)
	if err != nil {
		return nil, fmt.Errorf("testimages: pushing to %s: %w", reg.Addr(), err)
	}
	o.Logf("testimages: pushed %d images to %s in %.1fs", len(images), reg.Addr(), time.Since(start).Seconds())
	return images, nil
}

type builder struct {
	opts    Options
	cache   layerCache
	workDir string
	run     runner

	mu     sync.Mutex
	layers map[string]*layerMeta // by key, filled by ensureLayers
}

func (b *builder) debianKey(arch, variant string) string {
	return fmt.Sprintf("%s-debian-%s-%s-%s", recipe, b.opts.Suite, arch, variant)
}

func goKey(version, arch string) string {
	return fmt.Sprintf("%s-go%s-linux-%s", recipe, version, arch)
}

func (b *builder) record(m *layerMeta) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.layers[m.Key] = m
}

func (b *builder) layer(key string) *layerMeta {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.layers[key]
}

// ensureLayers makes sure every layer the requested images need is in the
// cache. The Debian trees for each arch and the Go layers are independent,
// so they are built concurrently (the arm64 tree is CPU-bound under qemu,
// the amd64 one mostly waits on the mirror). Must hold the exclusive lock.
func (b *builder) ensureLayers(ctx context.Context) error {
	// Holding the exclusive lock, anything left in work/ belongs to a
	// build that died; clear it (and any mounts it left) first.
	stale, err := os.ReadDir(b.workDir)
	if err != nil {
		return fmt.Errorf("listing scratch dir: %w", err)
	}
	for _, e := range stale {
		b.opts.Logf("testimages: removing stale scratch tree %s", e.Name())
		if err := removeTree(filepath.Join(b.workDir, e.Name())); err != nil {
			return err
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	for _, arch := range b.opts.Arches {
		if _, ok := standIn[arch]; ok {
			g.Go(func() error { return b.standInLayer(gctx, arch) })
		} else {
			g.Go(func() error { return b.debianLayers(gctx, arch, arch == "amd64") })
		}
		for _, v := range b.opts.GoVersions {
			g.Go(func() error { return b.goLayer(gctx, v, arch) })
		}
	}
	return g.Wait()
}

// debianLayers ensures the Debian+gcc layer for arch and, with musl, the
// musl diff layer on top of it.
func (b *builder) debianLayers(ctx context.Context, arch string, musl bool) error {
	baseKey, muslKey := b.debianKey(arch, "gcc"), b.debianKey(arch, "musl")
	base, err := b.cache.lookup(baseKey)
	if err != nil {
		return err
	}
	var ml *layerMeta
	if musl && base != nil {
		if ml, err = b.cache.lookup(muslKey); err != nil {
			return err
		}
		// The musl layer is a diff: it is only valid on the exact base
		// it was computed against.
		if ml != nil && ml.Parent != base.Digest {
			ml = nil
		}
	}
	if base != nil && (!musl || ml != nil) {
		b.record(base)
		if ml != nil {
			b.record(ml)
		}
		b.opts.Logf("testimages: cached %s", strings.Join(keysOf(base, ml), ", "))
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("building the Debian %s layers needs root (debootstrap, chroot); cache %s has none", arch, b.opts.CacheDir)
	}

	work, done, err := b.scratch(arch + "-")
	if err != nil {
		return err
	}
	defer done()
	rootfs := filepath.Join(work, "rootfs")

	var snap snapshot
	if base == nil {
		if base, snap, err = b.buildBase(ctx, arch, work, rootfs); err != nil {
			return err
		}
	} else {
		// Only the musl diff is missing: recreate the base tree from its
		// layer, which is quicker and, unlike a new debootstrap, gives
		// the exact tree the diff must apply to.
		start := time.Now()
		if err := os.Mkdir(rootfs, 0o755); err != nil {
			return fmt.Errorf("creating rootfs dir: %w", err)
		}
		layerTar := filepath.Join(b.cache.dir, base.Key+".tar")
		if err := b.run.run(ctx, chrootEnv(), toolPath("tar"), "-C", rootfs, "--numeric-owner", "-xpf", layerTar); err != nil {
			return fmt.Errorf("unpacking cached %s: %w", base.Key, err)
		}
		if snap, err = writeTreeLayer(rootfs, nil, nil); err != nil {
			return fmt.Errorf("snapshotting unpacked %s: %w", base.Key, err)
		}
		b.opts.Logf("testimages: unpacked cached %s (%.1fs)", base.Key, time.Since(start).Seconds())
	}
	b.record(base)
	if !musl {
		return nil
	}
	ml, err = b.buildMusl(ctx, work, rootfs, base, snap)
	if err != nil {
		return err
	}
	b.record(ml)
	return nil
}

func keysOf(ms ...*layerMeta) []string {
	var keys []string
	for _, m := range ms {
		if m != nil {
			keys = append(keys, m.Key)
		}
	}
	return keys
}

// aptInstall installs packages inside the tree with apt-get, as the
// golang:*-trixie images do: no recommends.
func (b *builder) aptInstall(ctx context.Context, rootfs string, pkgs ...string) error {
	args := append([]string{rootfs, "apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Use-Pty=0"}, pkgs...)
	if err := b.run.run(ctx, chrootEnv(), toolPath("chroot"), args...); err != nil {
		return fmt.Errorf("installing %s: %w", strings.Join(pkgs, " "), err)
	}
	return nil
}

// buildBase debootstraps the suite for arch into rootfs, adds gcc and
// libc6-dev, tidies the tree and stores it as a layer. The apt lists are
// stashed in work/apt-lists (the layer must not carry them) so that the
// musl step can reuse them instead of downloading them again.
func (b *builder) buildBase(ctx context.Context, arch, work, rootfs string) (*layerMeta, snapshot, error) {
	start := time.Now()
	b.opts.Logf("testimages: building Debian %s %s tree (debootstrap%s)", b.opts.Suite, arch, map[bool]string{true: " under qemu; takes minutes", false: ""}[!runsNatively(arch)])
	args := []string{"--variant=minbase", "--arch=" + debianArch(arch), "--components=main", b.opts.Suite, rootfs}
	if b.opts.Mirror != "" {
		args = append(args, b.opts.Mirror)
	}
	if err := b.run.run(ctx, chrootEnv(), toolPath("debootstrap"), args...); err != nil {
		return nil, nil, fmt.Errorf("debootstrap %s %s: %w", b.opts.Suite, arch, err)
	}
	if err := copyHostResolvConf(rootfs); err != nil {
		return nil, nil, err
	}
	if err := b.aptInstall(ctx, rootfs, "gcc", "libc6-dev"); err != nil {
		return nil, nil, err
	}
	lists := filepath.Join(rootfs, "var/lib/apt/lists")
	if err := os.Rename(lists, filepath.Join(work, "apt-lists")); err != nil {
		return nil, nil, fmt.Errorf("stashing apt lists: %w", err)
	}
	if err := os.Mkdir(lists, 0o755); err != nil {
		return nil, nil, fmt.Errorf("recreating apt lists dir: %w", err)
	}
	if err := tidyTree(rootfs); err != nil {
		return nil, nil, err
	}
	for _, want := range []string{"usr/bin/gcc", "usr/include/stdio.h", "usr/bin/sh"} {
		if _, err := os.Lstat(filepath.Join(rootfs, want)); err != nil {
			return nil, nil, fmt.Errorf("built %s tree lacks /%s: %w", arch, want, err)
		}
	}
	var snap snapshot
	createdBy := fmt.Sprintf("parity testimages: debootstrap --variant=minbase --arch=%s %s; apt-get install --no-install-recommends gcc libc6-dev", debianArch(arch), b.opts.Suite)
	m, err := b.cache.create(b.debianKey(arch, "gcc"), "", createdBy, func(w io.Writer) error {
		var err error
		snap, err = writeTreeLayer(rootfs, w, nil)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	b.opts.Logf("testimages: built %s: %d MB in %.1fs", m.Key, m.Size>>20, time.Since(start).Seconds())
	return m, snap, nil
}

// buildMusl turns the base tree into the Alpine stand-in and stores the
// difference from snap (the base layer's tree) as a layer: musl-tools
// added, bash removed (Alpine has none, and tests must see that).
func (b *builder) buildMusl(ctx context.Context, work, rootfs string, base *layerMeta, snap snapshot) (*layerMeta, error) {
	start := time.Now()
	lists := filepath.Join(rootfs, "var/lib/apt/lists")
	stash := filepath.Join(work, "apt-lists")
	if err := copyHostResolvConf(rootfs); err != nil {
		return nil, err
	}
	if _, err := os.Stat(stash); err == nil {
		if err := os.RemoveAll(lists); err != nil {
			return nil, fmt.Errorf("clearing apt lists: %w", err)
		}
		if err := os.Rename(stash, lists); err != nil {
			return nil, fmt.Errorf("restoring apt lists: %w", err)
		}
	} else if err := b.run.run(ctx, chrootEnv(), toolPath("chroot"), rootfs, "apt-get", "update", "-q"); err != nil {
		return nil, fmt.Errorf("apt-get update for musl-tools: %w", err)
	}
	if err := b.aptInstall(ctx, rootfs, "musl-tools"); err != nil {
		return nil, err
	}
	// On merged-/usr Debian /bin is a symlink to usr/bin, so the bin/
	// names usually resolve to files already gone.
	for _, p := range []string{"usr/bin/bash", "usr/bin/rbash", "bin/bash", "bin/rbash"} {
		if err := os.Remove(filepath.Join(rootfs, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("removing /%s: %w", p, err)
		}
	}
	if err := clearDir(lists); err != nil {
		return nil, err
	}
	if err := tidyTree(rootfs); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "usr/bin/musl-gcc")); err != nil {
		return nil, fmt.Errorf("musl tree lacks /usr/bin/musl-gcc: %w", err)
	}
	createdBy := "parity testimages: apt-get install --no-install-recommends musl-tools; rm /usr/bin/bash /usr/bin/rbash (Alpine stand-in: CC=musl-gcc, no bash)"
	m, err := b.cache.create(b.debianKey("amd64", "musl"), base.Digest, createdBy, func(w io.Writer) error {
		_, err := writeTreeLayer(rootfs, w, snap)
		return err
	})
	if err != nil {
		return nil, err
	}
	b.opts.Logf("testimages: built %s: %d MB in %.1fs", m.Key, m.Size>>20, time.Since(start).Seconds())
	return m, nil
}

// copyHostResolvConf gives apt in the chroot the host's DNS settings;
// tidyTree empties the file again so the host's resolver does not end up in
// an image (Docker mounts its own there anyway).
func copyHostResolvConf(rootfs string) error {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return fmt.Errorf("reading host resolv.conf: %w", err)
	}
	dst := filepath.Join(rootfs, "etc/resolv.conf")
	_ = os.Remove(dst) // may be a dangling symlink
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("writing chroot resolv.conf: %w", err)
	}
	return nil
}

// tidyTree removes what an image should not carry (apt caches, logs, the
// host's resolver) and sets the invariants tests rely on: a sticky
// world-writable /tmp and a nobody user (uid 65534).
func tidyTree(rootfs string) error {
	for _, pattern := range []string{
		"var/cache/apt/archives/*.deb",
		"var/cache/apt/archives/partial/*",
		"var/cache/apt/*.bin",
		"var/cache/debconf/*-old",
		"var/lib/dpkg/*-old",
		"var/log/apt/*",
		"var/log/dpkg.log",
		"var/log/alternatives.log",
		"var/log/bootstrap.log",
	} {
		matches, err := filepath.Glob(filepath.Join(rootfs, pattern))
		if err != nil {
			return fmt.Errorf("bad tidy pattern %q: %w", pattern, err)
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return fmt.Errorf("tidying tree: %w", err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/resolv.conf"), nil, 0o644); err != nil {
		return fmt.Errorf("emptying resolv.conf: %w", err)
	}
	// debootstrap copies the host's name in; Docker mounts its own over it,
	// but the image should not carry the build machine's name.
	hostname := filepath.Join(rootfs, "etc/hostname")
	if err := os.WriteFile(hostname, []byte("localhost\n"), 0o644); err != nil {
		return fmt.Errorf("writing /etc/hostname: %w", err)
	}
	if err := os.Chmod(hostname, 0o644); err != nil { // WriteFile keeps an existing file's mode
		return fmt.Errorf("chmod /etc/hostname: %w", err)
	}
	tmp := filepath.Join(rootfs, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("creating /tmp: %w", err)
	}
	if err := os.Chmod(tmp, 0o777|fs.ModeSticky); err != nil {
		return fmt.Errorf("chmod 1777 /tmp: %w", err)
	}
	passwd, err := os.ReadFile(filepath.Join(rootfs, "etc/passwd"))
	if err != nil {
		return fmt.Errorf("reading /etc/passwd: %w", err)
	}
	if !hasUID(passwd, "65534") {
		return errors.New("tree has no uid 65534 (nobody) in /etc/passwd; containers run as it")
	}
	return nil
}

func hasUID(passwd []byte, uid string) bool {
	for _, line := range bytes.Split(passwd, []byte("\n")) {
		f := strings.Split(string(line), ":")
		if len(f) > 3 && f[2] == uid {
			return true
		}
	}
	return false
}

// clearDir removes everything inside dir but dir itself.
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("clearing %s: %w", dir, err)
		}
	}
	return nil
}

// scratch makes a scratch directory under the work directory; done removes
// it (and any mount left in it), logging what it could not remove.
func (b *builder) scratch(prefix string) (dir string, done func(), err error) {
	dir, err = os.MkdirTemp(b.workDir, prefix)
	if err != nil {
		return "", nil, fmt.Errorf("creating scratch dir: %w", err)
	}
	return dir, func() {
		if err := removeTree(dir); err != nil {
			b.opts.Logf("testimages: %v", err)
		}
	}, nil
}

// cached records the layer of key when the cache has it already; done is
// true then, and there is nothing to build.
func (b *builder) cached(key string) (done bool, err error) {
	m, err := b.cache.lookup(key)
	if err != nil || m == nil {
		return false, err
	}
	b.record(m)
	b.opts.Logf("testimages: cached %s", key)
	return true, nil
}

// goLayer ensures the layer holding Go version for arch at /usr/local/go.
func (b *builder) goLayer(ctx context.Context, version, arch string) error {
	key := goKey(version, arch)
	if done, err := b.cached(key); done || err != nil {
		return err
	}
	start := time.Now()
	createdBy := fmt.Sprintf("parity testimages: golang.org/toolchain@v0.0.1-go%s.linux-%s installed at /usr/local/go", version, arch)
	zip, err := b.downloadToolchain(ctx, version, arch)
	if err != nil {
		// The proxy may refuse the platform (this project's serves
		// linux-amd64 and linux-arm64 only): the same release, built
		// from the host's GOROOT for it, is what remains.
		dir, done, derr := b.scratch("go-" + arch + "-")
		if derr != nil {
			return derr
		}
		defer done()
		b.opts.Logf("testimages: %v; cross-building go%s for linux/%s from the host's GOROOT instead", err, version, arch)
		var cerr error
		if zip, cerr = b.crossToolchain(ctx, version, arch, dir); cerr != nil {
			return fmt.Errorf("%w; and %w", err, cerr)
		}
		createdBy = fmt.Sprintf("parity testimages: go%s for linux/%s cross-built from the host's go%s GOROOT (go build cmd/go cmd/gofmt and pkg/tool) installed at /usr/local/go; the module proxy refused golang.org/toolchain@v0.0.1-go%s.linux-%s", version, arch, version, version, arch)
	}
	m, err := b.cache.create(key, "", createdBy, func(w io.Writer) error { return writeGoLayer(zip, w) })
	if err != nil {
		return err
	}
	b.record(m)
	b.opts.Logf("testimages: built %s: %d MB in %.1fs", key, m.Size>>20, time.Since(start).Seconds())
	return nil
}

// downloadToolchain fetches a Go release for linux/arch from the module
// proxy (the only place Go releases can be had here) into the module cache
// and returns the path of its zip.
func (b *builder) downloadToolchain(ctx context.Context, version, arch string) (string, error) {
	gobin, err := goTool()
	if err != nil {
		return "", err
	}
	mod := fmt.Sprintf("golang.org/toolchain@v0.0.1-go%s.linux-%s", version, arch)
	env := []string{"GOFLAGS=", "GOTOOLCHAIN=local", "GO111MODULE=on"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOTOOLCHAIN", "GO111MODULE", "GOWORK":
			// The caller's (a test's -modfile, say) must not leak in.
		default:
			env = append(env, kv)
		}
	}
	var stdout bytes.Buffer
	// Run outside any module (the scratch dir) so no go.mod is consulted.
	if err := b.run.runIn(ctx, b.workDir, env, &stdout, gobin, "mod", "download", "-json", mod); err != nil {
		// -json reports the failure on stdout.
		return "", fmt.Errorf("downloading %s: %w %s", mod, err, strings.TrimSpace(stdout.String()))
	}
	var res struct{ Zip, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return "", fmt.Errorf("downloading %s: decoding go mod download output: %w", mod, err)
	}
	if res.Error != "" || res.Zip == "" {
		return "", fmt.Errorf("downloading %s: %s", mod, res.Error)
	}
	return res.Zip, nil
}

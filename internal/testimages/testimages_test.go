package testimages

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ---- Unit tests: no root, no Docker, no network. ----

// tinyTar returns a one-file layer tarball's bytes.
func tinyTar(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeCache fills cacheDir/layers with tiny stand-ins for every layer that
// Build needs for arches, so Build goes straight to pushing.
func fakeCache(t *testing.T, cacheDir string, arches []string) {
	t.Helper()
	o, err := Options{CacheDir: cacheDir, Arches: arches}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{opts: o, cache: layerCache{dir: filepath.Join(cacheDir, "layers")}}
	mk := func(key, parent string) *layerMeta {
		data := tinyTar(t, key+".txt", key)
		m, err := b.cache.create(key, parent, "fake "+key, func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, arch := range o.Arches {
		base := mk(b.baseKey(arch), "")
		mk(goKey(DefaultGoVersion, arch), "")
		if arch == "amd64" {
			mk(b.debianKey(arch, "musl"), base.Digest)
		}
	}
}

// TestDebianArchNames: debootstrap knows 386 as i386; the other arches
// share their GOARCH name with Debian's.
func TestDebianArchNames(t *testing.T) {
	for goarch, deb := range map[string]string{"amd64": "amd64", "arm64": "arm64", "386": "i386", "s390x": "s390x"} {
		if got := debianArch(goarch); got != deb {
			t.Errorf("debianArch(%s) = %s, want %s", goarch, got, deb)
		}
		if _, ok := binfmtEntry[goarch]; !ok {
			t.Errorf("no binfmt entry for %s", goarch)
		}
	}
}

func TestNormalizeOptions(t *testing.T) {
	o, err := Options{CacheDir: "x", Arches: []string{"s390x", "arm64", "amd64", "386", "arm64"}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Arches, []string{"amd64", "arm64", "386", "s390x"}) {
		t.Errorf("Arches = %v, want amd64 first, index order, deduplicated", o.Arches)
	}
	if !filepath.IsAbs(o.CacheDir) || !slices.Equal(o.GoVersions, []string{DefaultGoVersion}) || o.Suite != "trixie" {
		t.Errorf("defaults not applied: %+v", o)
	}
	for _, bad := range []Options{{Arches: []string{"i386"}}, {Arches: []string{"arm"}}, {GoVersions: []string{"go1.26"}}, {Suite: "../x"}} {
		if _, err := bad.normalize(); err == nil {
			t.Errorf("normalize(%+v) succeeded, want an error", bad)
		}
	}
}

// TestImageConfig checks the config written for each platform straight
// from the built v1.Image: docker import would have recorded amd64 for the
// arm64 image, which is the bug this package exists to avoid.
func TestImageConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "l.tar")
	data := tinyTar(t, "hello", "hi")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	l := &fileLayer{path: p, digest: h, size: int64(len(data))}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	for _, tc := range []struct {
		arch, libc, variant string
		env                 []string
	}{
		{"amd64", "glibc", "", nil},
		{"arm64", "glibc", "v8", nil},
		{"amd64", "musl", "", []string{"CC=musl-gcc"}},
		{"386", "glibc", "", nil},
		{"s390x", "glibc", "", nil},
	} {
		t.Run(tc.arch+"-"+tc.libc, func(t *testing.T) {
			img, err := newImage(tc.arch, "1.26.8", tc.libc, "trixie", []mutate.Addendum{{Layer: l}}, created)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Architecture != tc.arch || cf.OS != "linux" || cf.Variant != tc.variant {
				t.Errorf("platform = %s/%s/%s, want linux/%s/%s", cf.OS, cf.Architecture, cf.Variant, tc.arch, tc.variant)
			}
			wantEnv := append([]string{"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOLANG_VERSION=1.26.8"}, tc.env...)
			if !slices.Equal(cf.Config.Env, wantEnv) {
				t.Errorf("Env = %q, want %q", cf.Config.Env, wantEnv)
			}
			if cf.Config.WorkingDir != "/" || !cf.Created.Time.Equal(created) {
				t.Errorf("WorkingDir %q Created %v", cf.Config.WorkingDir, cf.Created)
			}
			if !slices.Equal(cf.RootFS.DiffIDs, []v1.Hash{h}) {
				t.Errorf("DiffIDs = %v, want [%v]", cf.RootFS.DiffIDs, h)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON ||
				len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCIUncompressedLayer || m.Layers[0].Digest != h {
				t.Errorf("manifest = %+v", m)
			}
		})
	}
}

// TestPushWarmCache runs Build against a cache already holding every layer
// (tiny fakes), so it needs neither root nor debootstrap, and reads the
// result back from the registry: index platforms, per-platform configs,
// stable digests across registries, and blobs seeded by hard link.
func TestPushWarmCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cacheDir := t.TempDir()
	fakeCache(t, cacheDir, Arches)

	push := func() []Image {
		reg, err := StartRegistry(ctx, filepath.Join(cacheDir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		images, err := Build(ctx, reg, Options{CacheDir: cacheDir, Arches: []string{"s390x", "arm64", "amd64", "386"}, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		checkPushed(t, ctx, images)
		return images
	}
	first, second := push(), push()
	for i := range first {
		if first[i].Digest != second[i].Digest {
			t.Errorf("%s: digest changed between pushes of the same cache: %s, then %s", first[i].Tag, first[i].Digest, second[i].Digest)
		}
	}
	// Every layer blob is the cached file itself (hard link), not a copy.
	layers, err := filepath.Glob(filepath.Join(cacheDir, "layers", "*.json"))
	if err != nil || len(layers) != 9 {
		t.Fatalf("cached layers %v (%v), want 9", layers, err)
	}
	for _, j := range layers {
		m, err := layerCache{dir: filepath.Dir(j)}.lookup(strings.TrimSuffix(filepath.Base(j), ".json"))
		if err != nil || m == nil {
			t.Fatalf("lookup %s: %v %v", j, m, err)
		}
		l, err := m.fileLayer(filepath.Dir(j))
		if err != nil {
			t.Fatal(err)
		}
		cached, err1 := os.Stat(l.path)
		blob, err2 := os.Stat(l.blobPath(filepath.Join(cacheDir, "blobs")))
		if err1 != nil || err2 != nil || !os.SameFile(cached, blob) {
			t.Errorf("blob of %s is not a hard link of the cached layer (%v, %v)", m.Key, err1, err2)
		}
	}
}

// checkPushed reads every image back from the (still running) registry.
func checkPushed(t *testing.T, ctx context.Context, images []Image) {
	t.Helper()
	if len(images) != 2 || images[0].Libc != "glibc" || images[1].Libc != "musl" {
		t.Fatalf("images = %+v, want glibc then musl", images)
	}
	for _, im := range images {
		if !strings.HasSuffix(im.Repo, "/"+Repository) || im.Ref != im.Repo+":"+im.Tag+"@"+im.Digest {
			t.Errorf("bad refs %+v", im)
		}
		wantTag := map[string]string{"glibc": "1.26.8-trixie", "musl": "1.26.8-musl"}[im.Libc]
		if im.Tag != wantTag {
			t.Errorf("tag = %q, want %q", im.Tag, wantTag)
		}
		ref, err := name.ParseReference(im.DigestRef())
		if err != nil {
			t.Fatal(err)
		}
		idx, err := remote.Index(ref, remote.WithContext(ctx))
		if err != nil {
			t.Fatalf("fetching %s: %v", ref, err)
		}
		im2, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"glibc": "linux/amd64 linux/arm64/v8 linux/386 linux/s390x", "musl": "linux/amd64"}[im.Libc]
		var got []string
		for _, d := range im2.Manifests {
			got = append(got, d.Platform.String())
			plat := "linux/" + d.Platform.Architecture
			if im.Platforms[plat] != d.Digest.String() {
				t.Errorf("%s: Platforms[%s] = %s, index says %s", im.Tag, plat, im.Platforms[plat], d.Digest)
			}
			pref, ok := im.PlatformRef(plat)
			if !ok {
				t.Fatalf("%s: no PlatformRef(%s)", im.Tag, plat)
			}
			r, err := name.ParseReference(pref)
			if err != nil {
				t.Fatal(err)
			}
			img, err := remote.Image(r, remote.WithContext(ctx))
			if err != nil {
				t.Fatalf("fetching %s: %v", pref, err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Architecture != d.Platform.Architecture || cf.Variant != d.Platform.Variant {
				t.Errorf("%s: config says %s/%s, index says %s", pref, cf.Architecture, cf.Variant, d.Platform)
			}
			wantLayers := map[string]int{"glibc": 2, "musl": 3}[im.Libc]
			if n := len(cf.RootFS.DiffIDs); n != wantLayers {
				t.Errorf("%s: %d layers, want %d", pref, n, wantLayers)
			}
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s platforms = %q, want %q", im.Tag, got, want)
		}
	}
}

// TestTreeLayerDiff checks the tar writer: full layers keep modes,
// symlinks and hardlinks; diff layers hold only what changed, plus
// whiteouts for what went away.
func TestTreeLayerDiff(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string, mode os.FileMode) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/bin/bash", "bash", 0o755)
	write("usr/bin/su", "su", os.ModeSetuid|0o755)
	write("usr/bin/keep", "keep", 0o755)
	write("etc/gone/a", "a", 0o644)
	write("proc/ignored", "x", 0o644) // contents of /proc never go into a layer
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "usr/bin/keep"), filepath.Join(root, "usr/bin/keep2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}

	var full bytes.Buffer
	snap, err := writeTreeLayer(root, &full, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries := readTar(t, full.Bytes())
	for name, want := range map[string]string{
		"bin":          "symlink usr/bin",
		"usr/bin/su":   "file 4755",
		"usr/bin/keep": "file 755",
		// the second name of an inode is a hardlink to the first
		"usr/bin/keep2": "link usr/bin/keep",
		"tmp/":          "dir 1777",
		"proc/":         "dir 755",
	} {
		if got := entries[name]; got != want {
			t.Errorf("full layer %s = %q, want %q", name, got, want)
		}
	}
	if _, ok := entries["proc/ignored"]; ok {
		t.Error("full layer holds proc/ignored")
	}

	// Change the tree the way the musl step does, then diff.
	time.Sleep(10 * time.Millisecond) // ctime granularity on coarse-clock filesystems
	write("usr/bin/musl-gcc", "musl", 0o755)
	if err := os.Remove(filepath.Join(root, "usr/bin/bash")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "etc/gone")); err != nil {
		t.Fatal(err)
	}
	var diff bytes.Buffer
	if _, err := writeTreeLayer(root, &diff, snap); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, diff.Bytes())
	want := map[string]string{
		"usr/bin/":         "dir 755", // its entries changed
		"usr/bin/musl-gcc": "file 755",
		"usr/bin/.wh.bash": "file 600",
		"etc/":             "dir 755",
		"etc/.wh.gone":     "file 600", // one whiteout for the whole directory
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("diff layer = %v\nwant %v", got, want)
	}
}

// readTar summarises a tar as name -> "type mode" or "type target".
func readTar(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			out[h.Name] = fmt.Sprintf("file %o", h.Mode)
		case tar.TypeDir:
			out[h.Name] = fmt.Sprintf("dir %o", h.Mode)
		case tar.TypeSymlink:
			out[h.Name] = "symlink " + h.Linkname
		case tar.TypeLink:
			out[h.Name] = "link " + h.Linkname
		default:
			out[h.Name] = fmt.Sprintf("type %c", h.Typeflag)
		}
	}
}

// TestGoLayer checks the toolchain zip -> layer fix-ups on a miniature zip
// laid out like golang.org/toolchain's.
func TestGoLayer(t *testing.T) {
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	const prefix = "golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64/"
	for _, f := range []string{"VERSION", "bin/go", "bin/gofmt", "pkg/tool/linux_amd64/compile", "src/_go.mod", "src/fmt/print.go", "lib/wasm/go_js_wasm_exec", "lib/wasm/wasm_exec.js"} {
		w, err := zw.Create(prefix + f)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "content of "+f)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zp := filepath.Join(t.TempDir(), "tc.zip")
	if err := os.WriteFile(zp, zbuf.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeGoLayer(zp, &out); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, out.Bytes())
	for name, want := range map[string]string{
		"usr/":                               "dir 755",
		"usr/local/go/":                      "dir 755",
		"usr/local/go/pkg/tool/linux_amd64/": "dir 755",
		"usr/local/go/VERSION":               "file 644",
		"usr/local/go/bin/go":                "file 755",
		"usr/local/go/pkg/tool/linux_amd64/compile": "file 755",
		"usr/local/go/lib/wasm/go_js_wasm_exec":     "file 755",
		"usr/local/go/lib/wasm/wasm_exec.js":        "file 644",
		"usr/local/go/src/_go.mod":                  "file 644",
		"usr/local/go/src/go.mod":                   "file 644", // restored, as the go command does
		"usr/local/go/src/fmt/print.go":             "file 644",
	} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
}

// ---- Integration tests: real debootstrap, registry and Docker Engine. ----

// requireIntegration skips the test when this host cannot build images or
// has no Docker, except in CI (CI=true), where that is a broken setup and
// must fail rather than pass silently.
func requireIntegration(t *testing.T, arches []string) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("builds container images (minutes when the cache is cold); not in -short")
	}
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if err := CheckHost(arches); err != nil {
		fail("%v", err)
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		fail("docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		fail("no Docker Engine: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// buildImages starts a registry on the shared cache's blob dir and builds
// (or reuses) the images into it.
func buildImages(t *testing.T, ctx context.Context, arches []string) []Image {
	t.Helper()
	reg, err := StartRegistry(ctx, filepath.Join(DefaultCacheDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := reg.Close(); err != nil {
			t.Error(err)
		}
	})
	start := time.Now()
	images, err := Build(ctx, reg, Options{Arches: arches, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Build(%v) took %.1fs", arches, time.Since(start).Seconds())
	return images
}

// pull pulls ref (optionally for platform) and fails the test on any error
// in the progress stream, which is where the daemon reports pull failures.
// The pulled name is removed when owner ends: a parent test, so that
// sibling subtests still find the shared layers in place.
func pull(t, owner *testing.T, ctx context.Context, cli *client.Client, ref, platform string) {
	t.Helper()
	start := time.Now()
	rc, err := cli.ImagePull(ctx, ref, image.PullOptions{Platform: platform})
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("pulling %s: reading progress: %v", ref, err)
		}
		if msg.Error != "" {
			t.Fatalf("pulling %s: %s", ref, msg.Error)
		}
	}
	t.Logf("pulled %s in %.1fs", ref, time.Since(start).Seconds())
	owner.Cleanup(func() {
		// Untag what this test pulled; the port makes the name unique to
		// this run, so nothing else refers to it.
		_, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{})
	})
}

// run runs cmd in a new container of ref and returns its output. The
// container has no network, as Parity's test containers have none.
func run(t *testing.T, ctx context.Context, cli *client.Client, ref string, platform *ocispec.Platform, cmd ...string) string {
	t.Helper()
	created, err := cli.ContainerCreate(ctx,
		&container.Config{Image: ref, Cmd: cmd},
		&container.HostConfig{NetworkMode: "none"},
		nil, platform, "")
	if err != nil {
		t.Fatalf("creating container of %s: %v", ref, err)
	}
	defer cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	waitC, errC := cli.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("starting container of %s: %v", ref, err)
	}
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
	case err := <-errC:
		t.Fatalf("waiting for container of %s: %v", ref, err)
	}
	logs, err := cli.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("container logs: %v", err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, logs); err != nil {
		t.Fatalf("reading container logs: %v", err)
	}
	if code != 0 {
		t.Fatalf("%v in %s exited %d:\n%s", cmd, ref, code, out.String())
	}
	return out.String()
}

// probe is the script run in each image: one line per fact checked. The
// cgo program shows which C library cgo links (its ELF interpreter), which
// is the point of the musl stand-in; the race detector needs that cgo.
const probe = `set -e
go version
uname -m
command -v bash || echo nobash
echo "CC=$(go env CC)"
echo "user65534=$(id -nu 65534)"
echo "tmp=$(stat -c %a /tmp)"
mkdir /tmp/c && cd /tmp/c
printf 'package main\n\n// int two(void) { return 2; }\nimport "C"\nimport "fmt"\n\nfunc main() { fmt.Println("cgo", C.two()) }\n' > main.go
go mod init example.com/c >/dev/null 2>&1
CGO_ENABLED=1 go build -o c .
./c
readelf -l c | grep -o 'interpreter: [^]]*'
`

// TestImagesInDocker builds the amd64 images, pulls each by its platform
// digest with the Docker Engine API, and checks what runs inside.
func TestImagesInDocker(t *testing.T) {
	cli := requireIntegration(t, []string{"amd64"})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	images := buildImages(t, ctx, []string{"amd64"})

	parent := t
	for _, im := range images {
		t.Run(im.Libc, func(t *testing.T) {
			ref, ok := im.PlatformRef("linux/amd64")
			if !ok {
				t.Fatalf("%s has no linux/amd64: %+v", im.Tag, im.Platforms)
			}
			pull(t, parent, ctx, cli, ref, "")
			insp, err := cli.ImageInspect(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(insp.RepoDigests, ref) {
				t.Errorf("RepoDigests = %q, want it to contain %q", insp.RepoDigests, ref)
			}
			if insp.Architecture != "amd64" || insp.Os != "linux" {
				t.Errorf("pulled image is %s/%s", insp.Os, insp.Architecture)
			}

			out := run(t, ctx, cli, ref, nil, "sh", "-c", probe)
			t.Logf("%s:\n%s", ref, out)
			wantBash, wantCC, wantInterp := "/usr/bin/bash", "CC=gcc", "/lib64/ld-linux-x86-64.so.2"
			if im.Libc == "musl" {
				wantBash, wantCC, wantInterp = "nobash", "CC=musl-gcc", "/lib/ld-musl-x86_64.so.1"
			}
			for _, want := range []string{
				"go version go1.26.8 linux/amd64", "x86_64", wantBash, wantCC,
				"user65534=nobody", "tmp=1777", "cgo 2", "interpreter: " + wantInterp,
			} {
				if !slices.Contains(strings.Split(strings.TrimSpace(out), "\n"), want) {
					t.Errorf("output lacks line %q", want)
				}
			}

			// Pinning the index digest and letting the daemon pick the
			// platform must land on the same image.
			pull(t, parent, ctx, cli, im.DigestRef(), "linux/amd64")
			byIndex, err := cli.ImageInspect(ctx, im.DigestRef())
			if err != nil {
				t.Fatal(err)
			}
			if byIndex.ID != insp.ID {
				t.Errorf("pull by index digest gave image %s, by platform digest %s", byIndex.ID, insp.ID)
			}
		})
	}
}

// TestArm64ImageInDocker builds the arm64 platform too (~3 min under qemu
// when the cache is cold), so it runs only with PARITY_TEST_ARM64=1.
func TestArm64ImageInDocker(t *testing.T) {
	if os.Getenv("PARITY_TEST_ARM64") != "1" {
		t.Skip("set PARITY_TEST_ARM64=1 to build and run the arm64 image (slow: qemu)")
	}
	arches := []string{"amd64", "arm64"}
	cli := requireIntegration(t, arches)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	images := buildImages(t, ctx, arches)
	glibc := images[0]
	ref, ok := glibc.PlatformRef("linux/arm64")
	if !ok {
		t.Fatalf("%s has no linux/arm64: %+v", glibc.Tag, glibc.Platforms)
	}
	pull(t, t, ctx, cli, ref, "")
	insp, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if insp.Architecture != "arm64" || !slices.Contains(insp.RepoDigests, ref) {
		t.Errorf("pulled arm64 image: Architecture %q RepoDigests %q", insp.Architecture, insp.RepoDigests)
	}
	out := run(t, ctx, cli, ref, &ocispec.Platform{OS: "linux", Architecture: "arm64"}, "sh", "-c", "uname -m; go version")
	t.Logf("%s:\n%s", ref, out)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); !slices.Equal(lines, []string{"aarch64", "go version go1.26.8 linux/arm64"}) {
		t.Errorf("output = %q, want aarch64 and go1.26.8 linux/arm64", lines)
	}
}

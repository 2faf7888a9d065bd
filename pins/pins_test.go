package pins

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/parity-ci/parity/matrix"
)

const stale = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// startRegistry serves go-containerregistry's in-memory registry on
// 127.0.0.1 and returns its host:port. wrap, if given, sits in front of it.
func startRegistry(t *testing.T, wrap ...func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func testOptions() Options {
	// Anonymous: the tests must not depend on the developer's Docker config.
	return Options{Keychain: authn.NewMultiKeychain(), Insecure: true}
}

// randomImage is a small random image whose config names its platform, as a
// real per-arch image does.
func randomImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type pushed struct {
	index    string            // index digest
	platform map[string]string // "linux/arm64/v8" -> manifest digest
}

// pushIndex pushes a fresh random multi-platform index to ref.
func pushIndex(t *testing.T, ref string, platforms ...string) pushed {
	t.Helper()
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64", "linux/arm64/v8"}
	}
	out := pushed{platform: map[string]string{}}
	var adds []mutate.IndexAddendum
	for _, s := range platforms {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		img := randomImage(t, *p)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out.platform[s] = d.String()
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	if err := remote.WriteIndex(mustRef(t, ref), idx); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	out.index = d.String()
	return out
}

func pushImage(t *testing.T, ref string, p v1.Platform) string {
	t.Helper()
	img := randomImage(t, p)
	if err := remote.Write(mustRef(t, ref), img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestUpdateFollowsTheTag(t *testing.T) {
	var manifestGETs atomic.Int32
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
				manifestGETs.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	tagged := host + "/parity-test/golang:1.27.1-alpine3.24"
	first := pushIndex(t, tagged)
	lock := matrix.Lock{Version: 1, Pins: matrix.Pins{
		{Go: "1.27.1", Libc: matrix.Musl, Image: tagged + "@" + stale},
	}}

	got, changes, err := Update(context.Background(), lock, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := tagged + "@" + first.index
	if got.Pins[0].Image != want {
		t.Fatalf("image = %s, want %s", got.Pins[0].Image, want)
	}
	if len(changes) != 1 || changes[0] != (Change{Pin: "go1.27.1/musl", Old: tagged + "@" + stale, New: want}) {
		t.Fatalf("changes = %+v", changes)
	}
	if lock.Pins[0].Image != tagged+"@"+stale {
		t.Fatal("Update modified its input lock")
	}
	if _, err := matrix.ParseLock(got.Marshal()); err != nil {
		t.Fatalf("updated lock does not parse: %v", err)
	}

	// Up to date: nothing moves, and only HEAD requests were spent on it,
	// which Docker Hub does not count against its pull limit.
	manifestGETs.Store(0)
	again, changes, err := Update(context.Background(), got, testOptions())
	if n := manifestGETs.Load(); n != 0 {
		t.Errorf("an up-to-date pin cost %d manifest GETs", n)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 || again.Pins[0].Image != want {
		t.Fatalf("second update: image %s, changes %+v", again.Pins[0].Image, changes)
	}

	// The tag is re-pushed with new content: the pin follows it.
	second := pushIndex(t, tagged)
	if second.index == first.index {
		t.Fatal("random index repeated itself")
	}
	moved, changes, err := Update(context.Background(), got, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if moved.Pins[0].Image != tagged+"@"+second.index {
		t.Fatalf("after re-push: image = %s, want digest %s", moved.Pins[0].Image, second.index)
	}
	if len(changes) != 1 || changes[0].Old != want || changes[0].New != tagged+"@"+second.index {
		t.Fatalf("after re-push: changes = %+v", changes)
	}
}

func TestUpdateFillsInUnpinnedImages(t *testing.T) {
	host := startRegistry(t)
	tagged := host + "/parity-test/golang:1.26.8-trixie"
	p := pushIndex(t, tagged)
	data := []byte(`{"version": 1, "pins": [{"go": "1.26.8", "libc": "glibc", "image": "` + tagged + `"}]}`)

	if _, err := matrix.ParseLock(data); err == nil {
		t.Fatal("matrix.ParseLock accepted an unpinned image; ReadLock exists because it does not")
	}
	lock, err := ReadLock(data)
	if err != nil {
		t.Fatal(err)
	}
	got, changes, err := Update(context.Background(), lock, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got.Pins[0].Image != tagged+"@"+p.index {
		t.Fatalf("image = %s", got.Pins[0].Image)
	}
	if len(changes) != 1 || changes[0].Old != tagged {
		t.Fatalf("changes = %+v", changes)
	}
}

func TestUpdateMissingTagNamesThePin(t *testing.T) {
	host := startRegistry(t)
	good := host + "/parity-test/golang:1.26.8-alpine3.24"
	pushIndex(t, good)
	lock := matrix.Lock{Version: 1, Pins: matrix.Pins{
		{Go: "1.26.8", Libc: matrix.Musl, Image: good + "@" + stale},
		{Go: "1.27.1", Libc: matrix.Musl, Image: host + "/parity-test/golang:1.27.1-alpine3.24@" + stale},
		{Go: "1.27.1", Libc: matrix.Glibc, Image: host + "/parity-test/golang:1.27.1-trixie@" + stale},
	}}
	got, changes, err := Update(context.Background(), lock, testOptions())
	if err == nil {
		t.Fatal("Update succeeded with missing tags")
	}
	msg := err.Error()
	for _, want := range []string{
		"pin go1.27.1/musl (" + host + "/parity-test/golang:1.27.1-alpine3.24): resolve: ",
		"pin go1.27.1/glibc (" + host + "/parity-test/golang:1.27.1-trixie): resolve: ",
		"MANIFEST_UNKNOWN",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "go1.26.8/musl") {
		t.Errorf("error blames the pin that resolved:\n%s", msg)
	}
	if !strings.HasPrefix(msg, "2 pins could not be updated: ") || strings.Contains(msg, "\n") {
		t.Errorf("want one line counting the 2 failed pins:\n%s", msg)
	}
	if got.Pins != nil || changes != nil {
		t.Errorf("a failed update returned a lock (%+v) or changes (%+v)", got, changes)
	}
}

func TestUpdateRequiresEveryArch(t *testing.T) {
	host := startRegistry(t)
	amdOnly := host + "/parity-test/golang:1.27.1-trixie"
	pushIndex(t, amdOnly, "linux/amd64", "linux/s390x")
	single := host + "/parity-test/golang:1.27.1-alpine3.24"
	pushImage(t, single, v1.Platform{OS: "linux", Architecture: "amd64"})
	lock := matrix.Lock{Version: 1, Pins: matrix.Pins{
		{Go: "1.27.1", Libc: matrix.Glibc, Image: amdOnly + "@" + stale},
		{Go: "1.27.1", Libc: matrix.Musl, Image: single + "@" + stale},
	}}
	_, _, err := Update(context.Background(), lock, testOptions())
	if err == nil {
		t.Fatal("Update accepted images without linux/arm64")
	}
	for _, want := range []string{
		"pin go1.27.1/glibc (" + amdOnly + "): sha256:",
		"no linux/arm64 manifest (the image offers linux/amd64, linux/s390x; Parity runs every cell on amd64 and arm64)",
		"pin go1.27.1/musl (" + single + "): sha256:",
		"(the image offers linux/amd64;",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	// A project that runs amd64 only may say so.
	opt := testOptions()
	opt.Arches = []matrix.Arch{matrix.AMD64}
	if _, _, err := Update(context.Background(), lock, opt); err != nil {
		t.Fatalf("amd64-only update: %v", err)
	}
}

func TestUpdateHonoursContext(t *testing.T) {
	host := startRegistry(t)
	tagged := host + "/parity-test/golang:1.27.1-trixie"
	pushIndex(t, tagged)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lock := matrix.Lock{Version: 1, Pins: matrix.Pins{{Go: "1.27.1", Libc: matrix.Glibc, Image: tagged + "@" + stale}}}
	if _, _, err := Update(ctx, lock, testOptions()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestUpdateThroughMirrorKeepsCanonicalNames(t *testing.T) {
	mirror := startRegistry(t)
	// The mirror holds Docker Hub's official image under library/.
	p := pushIndex(t, mirror+"/library/golang:1.27.1-alpine3.24")
	lock := matrix.Lock{Version: 1, Pins: matrix.Pins{
		{Go: "1.27.1", Libc: matrix.Musl, Image: "golang:1.27.1-alpine3.24@" + stale},
	}}
	opt := testOptions()
	opt.Mirror = mirror
	got, changes, err := Update(context.Background(), lock, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := "golang:1.27.1-alpine3.24@" + p.index
	if got.Pins[0].Image != want || len(changes) != 1 {
		t.Fatalf("image = %s, changes = %+v; want %s", got.Pins[0].Image, changes, want)
	}
	d, err := Resolve(context.Background(), want, "linux/arm64", opt)
	if err != nil {
		t.Fatal(err)
	}
	if d != p.platform["linux/arm64/v8"] {
		t.Fatalf("Resolve through mirror = %s, want %s", d, p.platform["linux/arm64/v8"])
	}
}

func TestResolvePicksThePlatform(t *testing.T) {
	host := startRegistry(t)
	tagged := host + "/parity-test/golang:1.27.1-alpine3.24"
	p := pushIndex(t, tagged, "linux/amd64", "linux/arm64/v8", "linux/arm/v7")
	pinned := tagged + "@" + p.index
	ctx := context.Background()
	for platform, want := range map[string]string{
		"linux/amd64":    p.platform["linux/amd64"],
		"linux/arm64":    p.platform["linux/arm64/v8"],
		"linux/arm64/v8": p.platform["linux/arm64/v8"],
		"linux/arm/v7":   p.platform["linux/arm/v7"],
	} {
		got, err := Resolve(ctx, pinned, platform, testOptions())
		if err != nil {
			t.Errorf("%s: %v", platform, err)
		} else if got != want {
			t.Errorf("%s: got %s, want %s", platform, got, want)
		}
	}

	// The tag moves on; the pinned digest still resolves to the old manifests.
	pushIndex(t, tagged)
	if got, err := Resolve(ctx, pinned, "linux/amd64", testOptions()); err != nil || got != p.platform["linux/amd64"] {
		t.Errorf("after the tag moved: %s, %v", got, err)
	}

	_, err := Resolve(ctx, pinned, "linux/s390x", testOptions())
	if err == nil || !strings.Contains(err.Error(), "the index offers linux/amd64, linux/arm64/v8, linux/arm/v7") {
		t.Errorf("s390x: err = %v", err)
	}
	_, err = Resolve(ctx, tagged+"@"+stale, "linux/amd64", testOptions())
	if err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") || !strings.Contains(err.Error(), stale) {
		t.Errorf("unknown digest: err = %v", err)
	}
	_, err = Resolve(ctx, tagged, "linux/amd64", testOptions())
	if err == nil || !strings.Contains(err.Error(), "not pinned by digest") {
		t.Errorf("unpinned: err = %v", err)
	}
	if _, err = Resolve(ctx, pinned, "arm64", testOptions()); err == nil {
		t.Error("platform without an OS accepted")
	}
}

func TestResolveSinglePlatformImage(t *testing.T) {
	host := startRegistry(t)
	tagged := host + "/parity-test/tool:1"
	d := pushImage(t, tagged, v1.Platform{OS: "linux", Architecture: "arm64"})
	got, err := Resolve(context.Background(), tagged+"@"+d, "linux/arm64/v8", testOptions())
	if err != nil || got != d {
		t.Fatalf("got %s, %v; want %s", got, err, d)
	}
	_, err = Resolve(context.Background(), tagged+"@"+d, "linux/amd64", testOptions())
	if err == nil || !strings.Contains(err.Error(), "single-platform image for linux/arm64") {
		t.Fatalf("amd64 from an arm64 image: err = %v", err)
	}
}

// A registry that answers a digest with other bytes is caught: Resolve
// fetches by digest and go-containerregistry hashes what it receives.
func TestResolveRejectsSubstitutedContent(t *testing.T) {
	var from, to string
	host := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if from != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+from) {
				r.URL.Path = strings.TrimSuffix(r.URL.Path, from) + to
			}
			h.ServeHTTP(w, r)
		})
	})
	a := pushIndex(t, host+"/parity-test/golang:a")
	b := pushIndex(t, host+"/parity-test/golang:b")
	from, to = a.index, b.index
	_, err := Resolve(context.Background(), host+"/parity-test/golang:a@"+a.index, "linux/amd64", testOptions())
	if err == nil || !strings.Contains(err.Error(), "does not match requested digest") {
		t.Fatalf("substituted index accepted: err = %v", err)
	}
}

func TestApplyMirror(t *testing.T) {
	const d = "@sha256:4cb7ac979db5fcc41cae44b2227ba5ab8a51e8807f40d9ba4dee20a0ad960b5b"
	for _, c := range []struct{ image, mirror, want string }{
		{"golang:1.27.1-alpine3.24" + d, "", "golang:1.27.1-alpine3.24" + d},
		{"golang:1.27.1-alpine3.24" + d, "127.0.0.1:5000", "127.0.0.1:5000/library/golang:1.27.1-alpine3.24" + d},
		{"golang:1.27.1-alpine3.24" + d, "mirror.corp/dockerhub", "mirror.corp/dockerhub/library/golang:1.27.1-alpine3.24" + d},
		{"golang:1.27.1", "mirror.corp/dockerhub/", "mirror.corp/dockerhub/library/golang:1.27.1"},
		{"docker.io/library/golang:1.27.1", "localhost:5000", "localhost:5000/library/golang:1.27.1"},
		{"index.docker.io/golang:1.27.1", "localhost:5000", "localhost:5000/library/golang:1.27.1"},
		{"someuser/app:1", "mirror.corp", "mirror.corp/someuser/app:1"},
		{"ghcr.io/org/img:2" + d, "mirror.corp", "mirror.corp/org/img:2" + d},
		{"ghcr.io/org/img:2", "mirror.corp/cache", "mirror.corp/cache/org/img:2"},
		{"localhost:5000/img:2", "mirror.corp", "mirror.corp/img:2"},
		// Already on the mirror: left alone, so applying twice is harmless.
		{"mirror.corp/cache/library/golang:1", "mirror.corp/cache", "mirror.corp/cache/library/golang:1"},
		{"127.0.0.1:5000/library/golang:1", "127.0.0.1:5000", "127.0.0.1:5000/library/golang:1"},
	} {
		got, err := ApplyMirror(c.image, c.mirror)
		if err != nil {
			t.Errorf("ApplyMirror(%q, %q): %v", c.image, c.mirror, err)
			continue
		}
		if got != c.want {
			t.Errorf("ApplyMirror(%q, %q) = %q, want %q", c.image, c.mirror, got, c.want)
		}
		if again, _ := ApplyMirror(got, c.mirror); again != got {
			t.Errorf("ApplyMirror not idempotent: %q -> %q", got, again)
		}
	}
	for _, bad := range []string{"https://mirror.corp", "mirror", "/prefix", "Mirror.Corp"} {
		if got, err := ApplyMirror("golang:1", bad); err == nil {
			t.Errorf("mirror %q accepted: %q", bad, got)
		}
	}
}

func TestMirrorFromEnv(t *testing.T) {
	t.Setenv(MirrorEnv, " 127.0.0.1:5000 \n")
	if got := MirrorFromEnv(); got != "127.0.0.1:5000" {
		t.Fatalf("MirrorFromEnv() = %q", got)
	}
	t.Setenv(MirrorEnv, "")
	if got := MirrorFromEnv(); got != "" {
		t.Fatalf("MirrorFromEnv() = %q", got)
	}
}

func TestCheck(t *testing.T) {
	builtin := matrix.Lock{Version: 1, Pins: matrix.Builtin()}
	cells, err := matrix.Expand(matrix.Spec{}, builtin.Pins.GoVersions())
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(builtin, cells); err != nil {
		t.Fatalf("built-in pins: %v", err)
	}
	if err := Check(builtin, nil); err != nil {
		t.Fatalf("no cells: %v", err)
	}

	extra := append(cells, matrix.Cell{Go: "1.25.9", Libc: matrix.Musl, Arch: matrix.ARM64},
		matrix.Cell{Go: "1.25.9", Libc: matrix.Musl, Arch: matrix.AMD64},
		matrix.Cell{Go: "1.25.9", Libc: matrix.Glibc, Arch: matrix.AMD64})
	err = Check(builtin, extra)
	if err == nil || !strings.Contains(err.Error(), "no pin for go1.25.9/musl, go1.25.9/glibc") {
		t.Fatalf("missing pins: err = %v", err)
	}

	bad := matrix.Lock{Version: 1, Pins: append(matrix.Builtin(), matrix.Pin{Go: "1.25.9", Libc: matrix.Musl, Image: "golang:1.25.9-alpine"})}
	err = Check(bad, []matrix.Cell{{Go: "1.24.0", Libc: matrix.Glibc, Arch: matrix.AMD64}})
	if err == nil {
		t.Fatal("unpinned image accepted")
	}
	for _, want := range []string{"not pinned by digest", "no pin for go1.24.0/glibc"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := Check(matrix.Lock{Version: 2, Pins: matrix.Builtin()}, nil); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("version 2: err = %v", err)
	}
}

func TestReadLockRejectsMalformed(t *testing.T) {
	for _, data := range []string{
		`{"version": 1, "pins": [{"go": "1.27.1", "libc": "musl", "image": "Golang:x"}]}`,
		`{"version": 2, "pins": []}`,
		`{"version": 1, "pins": [], "extra": true}`,
		`{"version": 1, "pins": []}
<<<<<<< ours`,
	} {
		if _, err := ReadLock([]byte(data)); err == nil {
			t.Errorf("ReadLock accepted %s", data)
		}
	}
}

// TestUpdateErrorsNameTheGivenLock: the strict check after an update names
// the file the user gave (--lock other.json), not parity.lock.json.
func TestUpdateErrorsNameTheGivenLock(t *testing.T) {
	host := startRegistry(t)
	tagged := host + "/parity-test/golang:1.26.8-trixie"
	pushIndex(t, tagged)
	// Two pins for one (Go, libc): ReadLock lets it through, the strict
	// check after the update does not.
	data := []byte(`{"version": 1, "pins": [{"go": "1.26.8", "libc": "glibc", "image": "` + tagged + `"}, {"go": "1.26.8", "libc": "glibc", "image": "` + tagged + `"}]}`)
	lock, err := ReadLockFile("other.json", data)
	if err != nil {
		t.Fatalf("ReadLockFile refuses duplicates already (pick another case the strict check alone refuses): %v", err)
	}
	opt := testOptions()
	opt.LockName = "other.json"
	_, _, err = Update(context.Background(), lock, opt)
	if err == nil || !strings.Contains(err.Error(), "other.json") || strings.Contains(err.Error(), "parity.lock.json") {
		t.Fatalf("error %v, want it to name other.json", err)
	}
}

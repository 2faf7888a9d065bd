package daggerengine

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// pushIndex serves a two-platform index and returns its pinned reference
// and the amd64 manifest's digest.
func pushIndex(t *testing.T) (string, string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	var adds []mutate.IndexAddendum
	var amd64 string
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		if arch == "amd64" {
			amd64 = d.String()
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	ref, err := name.ParseReference(host + "/golang:1.27.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	return host + "/golang:1.27.1@" + d.String(), amd64
}

// TestImageForPlatformDigest: the cell pulls its platform's manifest by
// digest and reports that digest, never the index reference.
func TestImageForPlatformDigest(t *testing.T) {
	image, amd64 := pushIndex(t)
	e := &Engine{}
	spec := job.Spec{Cell: matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}, Image: image, Platform: "linux/amd64"}
	from, digest, err := e.imageFor(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	repo, _, _ := strings.Cut(image, ":1.27.1@")
	if digest != amd64 || from != repo+"@"+amd64 {
		t.Fatalf("from %s digest %s; want %s@%s", from, digest, repo, amd64)
	}
}

// TestImageForUnreadableIndex: when the index cannot be read from here,
// the engine picks the platform from the index itself and the digest is
// unknown: empty, not the index's.
func TestImageForUnreadableIndex(t *testing.T) {
	image, _ := pushIndex(t)
	ref, _ := matrix.ParsePinned(image)
	gone := "127.0.0.1:1/golang:1.27.1@" + ref.Digest
	from, digest, err := (&Engine{}).imageFor(context.Background(), job.Spec{Image: gone, Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if digest != "" || from != "127.0.0.1:1/golang@"+ref.Digest {
		t.Fatalf("from %s digest %q", from, digest)
	}
}

// TestImageForMirror pulls through the mirror.
func TestImageForMirror(t *testing.T) {
	image, amd64 := pushIndex(t)
	host, _, _ := strings.Cut(image, "/")
	canonical := "registry.example.com/golang" + strings.TrimPrefix(image, host+"/golang")
	e := &Engine{opt: Options{RegistryMirror: host}}
	from, digest, err := e.imageFor(context.Background(), job.Spec{Image: canonical, Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if digest != amd64 || from != host+"/golang@"+amd64 {
		t.Fatalf("from %s digest %s", from, digest)
	}
}

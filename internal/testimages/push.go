package testimages

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Repository is the repository path, under the registry host, that images
// are pushed to.
const Repository = "parity-test/golang"

// imagePath is the PATH of every image, the one golang:* images have.
const imagePath = "/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// platformOf returns the OCI platform of a linux/arch image. arm64 carries
// variant v8, as on Docker Hub, so that clients that normalise arm64 to
// arm64/v8 and clients that do not both match it.
func platformOf(arch string) v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: arch}
	if arch == "arm64" {
		p.Variant = "v8"
	}
	return p
}

// imageEnv returns the environment of an image. CC=musl-gcc is what makes
// the musl image an Alpine stand-in: cgo (and -race) link musl through it.
func imageEnv(goVersion, libc string) []string {
	env := []string{"PATH=" + imagePath, "GOLANG_VERSION=" + goVersion}
	if libc == "musl" {
		env = append(env, "CC=musl-gcc")
	}
	return env
}

// newImage assembles an OCI image for linux/arch from layers (bottom
// first). The config is written here, not inherited from anything, so its
// Architecture/OS/Variant are right even for a foreign arch (docker import
// would record the host's arch whatever --platform says). created is the
// image's creation time; deriving it from the layers keeps digests stable
// across processes while the cache is unchanged.
func newImage(arch, goVersion, libc, suite string, adds []mutate.Addendum, created time.Time) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	p := platformOf(arch)
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: created}
	cf.Config.Env = imageEnv(goVersion, libc)
	cf.Config.WorkingDir = "/"
	cf.Config.Cmd = []string{"sh"}
	desc := fmt.Sprintf("Go %s on Debian %s (minbase) with gcc and libc6-dev, built by Parity's internal/testimages.", goVersion, suite)
	if _, ok := standIn[arch]; ok {
		desc = fmt.Sprintf("%s stand-in, NOT Debian: Go %s on a static busybox %s with Debian's cross-built %s glibc and no C compiler (CGO_ENABLED=0), built by Parity's internal/testimages: this mirror serves no Debian %s packages.", arch, goVersion, busyboxVersion, arch, arch)
	}
	if libc == "musl" {
		desc = fmt.Sprintf("Alpine stand-in, NOT Alpine: Go %s on Debian %s with musl-gcc as CC (cgo links musl; all else is Debian) and no bash, built by Parity's internal/testimages.", goVersion, suite)
	}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       Repository,
		"org.opencontainers.image.description": desc,
		"dev.parity.testimages.go":             goVersion,
		"dev.parity.testimages.libc":           libc,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting config: %w", err)
	}
	return img, nil
}

// newIndex makes an OCI image index of imgs, each described with its
// platform, in the order given.
func newIndex(imgs map[string]v1.Image, arches []string) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range arches {
		img, ok := imgs[arch]
		if !ok {
			continue
		}
		p := platformOf(arch)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &p},
		})
	}
	return idx
}

// imagePlan is one image to push: a tag and each platform's layer keys.
type imagePlan struct {
	goVersion, libc, tag string
	layers               map[string][]string // arch -> layer keys, bottom first
}

// plans lists the images for the requested Go versions and arches.
func (b *builder) plans() []imagePlan {
	var out []imagePlan
	for _, v := range b.opts.GoVersions {
		glibc := imagePlan{goVersion: v, libc: "glibc", tag: v + "-" + b.opts.Suite, layers: map[string][]string{}}
		for _, arch := range b.opts.Arches {
			glibc.layers[arch] = []string{b.baseKey(arch), goKey(v, arch)}
		}
		out = append(out, glibc)
		if slices.Contains(b.opts.Arches, "amd64") {
			// Go before the musl diff: the first two layers are then the
			// glibc image's, so Docker unpacks them once for both images.
			out = append(out, imagePlan{goVersion: v, libc: "musl", tag: v + "-musl", layers: map[string][]string{
				"amd64": {b.debianKey("amd64", "gcc"), goKey(v, "amd64"), b.debianKey("amd64", "musl")},
			}})
		}
	}
	return out
}

// pushAll pushes every planned image to reg and returns them. Must hold at
// least the shared lock.
func (b *builder) pushAll(ctx context.Context, reg *Registry) ([]Image, error) {
	repo := reg.Addr() + "/" + Repository
	seeded := map[string]bool{}
	var images []Image
	for _, plan := range b.plans() {
		imgs := map[string]v1.Image{}
		for arch, keys := range plan.layers {
			var adds []mutate.Addendum
			var created time.Time
			for _, key := range keys {
				m := b.layer(key)
				if m == nil {
					return nil, fmt.Errorf("layer %s was not built", key)
				}
				l, err := m.fileLayer(b.cache.dir)
				if err != nil {
					return nil, err
				}
				if !seeded[key] {
					b.seedBlob(l, reg.BlobDir())
					seeded[key] = true
				}
				adds = append(adds, mutate.Addendum{
					Layer:   l,
					History: v1.History{Created: v1.Time{Time: m.Created}, CreatedBy: m.CreatedBy},
				})
				if m.Created.After(created) {
					created = m.Created
				}
			}
			img, err := newImage(arch, plan.goVersion, plan.libc, b.opts.Suite, adds, created)
			if err != nil {
				return nil, fmt.Errorf("assembling %s linux/%s: %w", plan.tag, arch, err)
			}
			imgs[arch] = img
		}
		idx := newIndex(imgs, b.opts.Arches)
		tag, err := name.NewTag(repo+":"+plan.tag, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("tag for %s: %w", plan.tag, err)
		}
		start := time.Now()
		if err := remote.WriteIndex(tag, idx, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("pushing %s: %w", tag, err)
		}
		digest, err := idx.Digest()
		if err != nil {
			return nil, fmt.Errorf("digest of %s: %w", tag, err)
		}
		im := Image{
			Go: plan.goVersion, Libc: plan.libc, Repo: repo, Tag: plan.tag,
			Digest: digest.String(), Ref: tag.String() + "@" + digest.String(),
			Platforms: map[string]string{},
		}
		for arch, img := range imgs {
			d, err := img.Digest()
			if err != nil {
				return nil, fmt.Errorf("digest of %s linux/%s: %w", tag, arch, err)
			}
			im.Platforms["linux/"+arch] = d.String()
		}
		b.opts.Logf("testimages: pushed %s (%.1fs)", im.Ref, time.Since(start).Seconds())
		images = append(images, im)
	}
	return images, nil
}

// seedBlob hard-links a cached layer into the registry's blob directory so
// the push finds the blob present and uploads nothing: a ~300 MB layer is
// then "pushed" in milliseconds. It is only an optimisation (the link fails
// across filesystems, or if the registry's layout ever changes), so errors
// just mean a normal upload. Sharing the inode is safe: cached tarballs are
// never written in place, only replaced by rename.
func (b *builder) seedBlob(l *fileLayer, blobDir string) {
	dst := l.blobPath(blobDir)
	if fi, err := os.Stat(dst); err == nil && fi.Size() == l.size {
		return
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return
	}
	if err := os.Link(l.path, dst); err != nil && !errors.Is(err, fs.ErrExist) {
		b.opts.Logf("testimages: cannot hard-link %s into the registry (%v); uploading it instead", filepath.Base(l.path), err)
	}
}

package pins

import (
	"bytes"
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/parity-ci/parity/matrix"
)

// Resolve returns the digest of the manifest for platform ("linux/arm64",
// "linux/arm64/v8", "linux/amd64") inside the index image pins. The runtime
// pulls that digest, so each cell runs exactly the bytes the lock names.
//
// The index is fetched by its digest, never by tag: go-containerregistry
// then checks the bytes against the digest, so a registry or mirror cannot
// substitute other content. If image is a single-platform manifest rather
// than an index, its own digest is returned when its config's platform
// matches, and an error otherwise.
func Resolve(ctx context.Context, image, platform string, opt Options) (string, error) {
	r, err := matrix.ParsePinned(image)
	if err != nil {
		return "", err
	}
	want, err := v1.ParsePlatform(platform)
	if err != nil || want.OS == "" || want.Architecture == "" {
		return "", fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/arm64", platform)
	}
	where := fmt.Sprintf("resolve %s for %s", image, platform)
	// The tag is dropped: by-digest fetches ignore it, and a moved tag must
	// not matter here.
	ref, err := opt.reference(matrix.Ref{Repo: r.Repo, Digest: r.Digest}.String())
	if err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	d, err := remote.Get(ref, opt.remote(ctx)...)
	if err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	if !d.MediaType.IsIndex() {
		p, err := imagePlatform(d)
		if err != nil {
			return "", fmt.Errorf("%s: %w", where, err)
		}
		if score(p, *want) == 0 {
			return "", fmt.Errorf("%s: %s is a single-platform image for %s", where, r.Digest, p)
		}
		return d.Digest.String(), nil
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(d.Manifest))
	if err != nil {
		return "", fmt.Errorf("%s: read index: %w", where, err)
	}
	best, bestScore := -1, 0
	var have []string
	for i, m := range im.Manifests {
		if m.Platform == nil {
			continue
		}
		if m.Platform.OS != "unknown" {
			have = append(have, m.Platform.String())
		}
		if s := score(*m.Platform, *want); s > bestScore {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return "", fmt.Errorf("%s: the index offers %s", where, orNone(have))
	}
	return im.Manifests[best].Digest.String(), nil
}

// score rates how well have serves want: 0 not at all, 1 same OS and
// architecture with a variant the caller did not ask for, 2 an exact match.
// arm64's only variant is v8, so "" and "v8" are the same there.
func score(have, want v1.Platform) int {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return 0
	}
	hv, wv := variant(have), variant(want)
	switch {
	case hv == wv:
		return 2
	case wv == "":
		return 1
	}
	return 0
}

func variant(p v1.Platform) string {
	if p.Architecture == "arm64" && p.Variant == "" {
		return "v8"
	}
	return p.Variant
}

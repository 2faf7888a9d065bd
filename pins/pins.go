// Package pins keeps the image pins of parity.lock.json fresh and checks
// them: it resolves each pin's tag to the multi-platform index digest the
// registry serves now, and at run time picks the per-architecture manifest
// out of a pinned index.
package pins

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/parity-ci/parity/matrix"
)

// Options says how to reach registries.
type Options struct {
	// Mirror, if set, redirects every fetch; see ApplyMirror for the rule.
	// The cmd fills it from --registry-mirror or MirrorFromEnv().
	Mirror string
	// Insecure talks plain HTTP to the registry. go-containerregistry already
	// does so for localhost and 127.0.0.1, but a mirror on another private
	// host needs it said.
	Insecure bool
	// Keychain supplies credentials; nil means authn.DefaultKeychain (the
	// Docker config file and its credential helpers).
	Keychain authn.Keychain
	// Concurrency bounds the registry requests in flight; 0 means 4.
	Concurrency int
	// LockName is the lock file as the user named it, for Update's errors;
	// "" means parity.lock.json.
	LockName string
	// Arches are the architectures every pinned index must provide; nil
	// means matrix.Arches, since Parity runs every cell on each of them.
	Arches []matrix.Arch
}

func (o Options) remote(ctx context.Context) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
}

// reference applies the mirror and parses image for go-containerregistry.
// go-containerregistry's errors quote the URL, so the mirrored name shows.
func (o Options) reference(image string) (name.Reference, error) {
	s, err := ApplyMirror(image, o.Mirror)
	if err != nil {
		return nil, err
	}
	var nopt []name.Option
	if o.Insecure {
		nopt = append(nopt, name.Insecure)
	}
	ref, err := name.ParseReference(s, nopt...)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", s, err)
	}
	return ref, nil
}

// Change is one pin whose image moved.
type Change struct {
	Pin string // "go1.27.1/musl"
	Old string // the image before, as written in the lock (maybe without digest)
	New string // repo:tag@sha256:<index digest now served>
}

func (c Change) String() string { return fmt.Sprintf("%s: %s -> %s", c.Pin, c.Old, c.New) }

func pinName(p matrix.Pin) string { return "go" + p.Go + "/" + string(p.Libc) }

// Update resolves every pin's tag to the index digest the registry serves
// now and returns the lock with the images rewritten, plus what moved.
// It is all or nothing: on any error the lock is not returned, so a caller
// never writes a lock that is half old, half new. Every failing pin is
// reported, each error naming its pin.
//
// A changed or new digest is checked to offer every architecture in
// opt.Arches. A pin whose tag still points at its digest costs one HEAD
// request and is kept as it is.
func Update(ctx context.Context, lock matrix.Lock, opt Options) (matrix.Lock, []Change, error) {
	n := opt.Concurrency
	if n <= 0 {
		n = 4
	}
	out := matrix.Lock{Version: matrix.LockVersion, Pins: slices.Clone(lock.Pins)}
	errs := make([]error, len(out.Pins))
	var g errgroup.Group // not WithContext: one bad tag must not hide the others
	g.SetLimit(n)
	for i, p := range out.Pins {
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			img, err := current(ctx, p, opt)
			out.Pins[i].Image, errs[i] = img, err
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return matrix.Lock{}, nil, fmt.Errorf("pins update: %w", err)
	}
	var failed []string
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err.Error())
		}
	}
	if err := matrix.OneLine(failed, "pins could not be updated"); err != nil {
		return matrix.Lock{}, nil, err
	}
	// Every pin now has a digest, so the strict check applies; it also catches
	// a bad Go version, libc or duplicate that ReadLock let through.
	if err := out.CheckFile(cmp.Or(opt.LockName, matrix.LockFile)); err != nil {
		return matrix.Lock{}, nil, err
	}
	var changes []Change
	for i, p := range out.Pins {
		if old := lock.Pins[i].Image; old != p.Image {
			changes = append(changes, Change{Pin: pinName(p), Old: old, New: p.Image})
		}
	}
	return out, changes, nil
}

// current returns p's image pinned to the index its tag points at now.
func current(ctx context.Context, p matrix.Pin, opt Options) (string, error) {
	r, err := matrix.ParseRef(p.Image)
	if err != nil {
		return "", fmt.Errorf("pin %s: %w", pinName(p), err)
	}
	where := fmt.Sprintf("pin %s (%s)", pinName(p), r.Tagged())
	if r.Tag == "" {
		return "", fmt.Errorf("%s: no tag to resolve: write the image as repo:tag so the pin can be refreshed", where)
	}
	ref, err := opt.reference(r.Tagged())
	if err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	// HEAD first: Docker Hub counts manifest GETs, not HEADs, against its pull
	// limit, and most runs find most pins unchanged. A registry that answers
	// HEAD badly still gets the GET.
	h, err := remote.Head(ref, opt.remote(ctx)...)
	if err == nil && h.Digest.String() == r.Digest {
		return p.Image, nil
	}
	if err == nil {
		// Fetch what HEAD named by digest, so the content is verified and a
		// tag moving between the two requests cannot mix two indexes.
		ref = ref.Context().Digest(h.Digest.String())
	}
	d, err := remote.Get(ref, opt.remote(ctx)...)
	if err != nil {
		return "", fmt.Errorf("%s: resolve: %w", where, err)
	}
	plats, err := platforms(d)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", where, d.Digest, err)
	}
	if err := hasArches(plats, opt.Arches); err != nil {
		return "", fmt.Errorf("%s: %s: %w", where, d.Digest, err)
	}
	// d.Digest is the sha256 of the manifest bytes as served, which is what a
	// later pull by digest will verify against.
	return matrix.Ref{Repo: r.Repo, Tag: r.Tag, Digest: d.Digest.String()}.String(), nil
}

// platforms lists what an index offers, or the one platform of an image.
func platforms(d *remote.Descriptor) ([]v1.Platform, error) {
	if d.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(d.Manifest))
		if err != nil {
			return nil, fmt.Errorf("read index: %w", err)
		}
		var ps []v1.Platform
		for _, m := range im.Manifests {
			if m.Platform != nil {
				ps = append(ps, *m.Platform)
			}
		}
		return ps, nil
	}
	p, err := imagePlatform(d)
	if err != nil {
		return nil, err
	}
	return []v1.Platform{p}, nil
}

func imagePlatform(d *remote.Descriptor) (v1.Platform, error) {
	img, err := d.Image()
	if err != nil {
		return v1.Platform{}, fmt.Errorf("read image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Platform{}, fmt.Errorf("read image config: %w", err)
	}
	return v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}, nil
}

func hasArches(plats []v1.Platform, arches []matrix.Arch) error {
	if arches == nil {
		arches = matrix.Arches
	}
	var missing []string
	for _, a := range arches {
		if !slices.ContainsFunc(plats, func(p v1.Platform) bool {
			return p.OS == "linux" && p.Architecture == string(a)
		}) {
			missing = append(missing, "linux/"+string(a))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var have []string
	for _, p := range plats {
		if p.OS != "unknown" { // attestation manifests
			have = append(have, p.String())
		}
	}
	return fmt.Errorf("no %s manifest (the image offers %s; Parity runs every cell on %s)",
		strings.Join(missing, " or "), orNone(have), archList(arches))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no platform"
	}
	return strings.Join(s, ", ")
}

func archList(arches []matrix.Arch) string {
	s := make([]string, len(arches))
	for i, a := range arches {
		s[i] = string(a)
	}
	return strings.Join(s, " and ")
}

// ReadLock parses a lock file like matrix.ParseLock, except that a pin may
// lack its digest: writing "golang:1.27.1-alpine3.24" and running
// `parity pins update` is how a new pin is added. Update checks the result
// strictly.
func ReadLock(data []byte) (matrix.Lock, error) { return ReadLockFile(matrix.LockFile, data) }

// ReadLockFile is ReadLock of a file the user named name: every error
// starts with it.
func ReadLockFile(name string, data []byte) (matrix.Lock, error) {
	l, err := matrix.DecodeLockFile(name, data)
	if err != nil {
		return matrix.Lock{}, err
	}
	var bad []string
	for i, p := range l.Pins {
		if _, err := matrix.ParseRef(p.Image); err != nil {
			bad = append(bad, fmt.Sprintf("pin %d (%s): %v", i+1, pinName(p), err))
		}
	}
	if err := matrix.OneLine(bad, "bad pins"); err != nil {
		return matrix.Lock{}, fmt.Errorf("%s: %w", name, err)
	}
	return l, nil
}

// Check is `parity pins check`: every pin is well formed and pinned by
// digest (matrix.Lock.Check), and each (Go, libc) of cells has a pin. Pass
// the pins the run would use, e.g. matrix.Builtin().Merge(lock.Pins), and
// nil cells to skip the coverage check. The error lists every problem, on
// one line.
func Check(lock matrix.Lock, cells []matrix.Cell) error {
	return CheckFile(matrix.LockFile, lock, cells)
}

// CheckFile is Check of a lock the user named name: the errors name it.
func CheckFile(name string, lock matrix.Lock, cells []matrix.Cell) error {
	var errs []string
	if lock.Version != 0 && lock.Version != matrix.LockVersion {
		errs = append(errs, fmt.Sprintf("%s: version %d, this Parity reads version %d", name, lock.Version, matrix.LockVersion))
	}
	if err := lock.CheckFile(name); err != nil {
		errs = append(errs, err.Error())
	}
	var missing []string
	for _, c := range cells {
		k := "go" + c.Go + "/" + string(c.Libc)
		if slices.Contains(missing, k) {
			continue
		}
		if !slices.ContainsFunc(lock.Pins, func(p matrix.Pin) bool { return p.Go == c.Go && p.Libc == c.Libc }) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Sprintf("%s: no pin for %s (add a pin per missing pair, then run `parity pins update`)", name, strings.Join(missing, ", ")))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

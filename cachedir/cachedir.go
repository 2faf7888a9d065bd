// Package cachedir describes the cache directory (--cache-dir) that carries
// a run's caches from one machine to the next: one directory, with a tar
// file per cache and a manifest naming what each holds, for any CI cache
// step to store (actions/cache, GitLab's cache:, a Buildkite cache plugin).
// What a run can reuse is decided here, purely, from the planned Specs; the
// runtime (dockerengine) moves the bytes.
//
// Every entry has a key naming what makes its content valid, and a run
// restores only entries whose key its plan computes:
//
//   - the module cache: one per project; any content is valid, since the
//     deps step checks every module against go.sum and verifies it (the
//     manifest records go.sum's digest for people);
//   - a cell's build cache: the cell and its pinned image (index digest
//     and platform): outputs of another toolchain would never be used;
//   - a standard library seed: its name, which hashes the image, the
//     platform and the flags it was compiled with;
//   - a setup image (the C toolchain installed into a pinned image): its
//     tag, which hashes the platform image's digest and the setup script;
//     the runtime checks that a restored one is built on the pinned image.
package cachedir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
)

// Layout is the version of the directory's format: a directory of another
// layout is ignored (and replaced by the next save).
const Layout = 1

// ManifestFile names the manifest in the directory.
const ManifestFile = "parity-cache.json"

// Kind is what an entry holds.
type Kind string

const (
	Modules Kind = "modules" // the project's module cache
	Build   Kind = "build"   // a cell's build cache
	Std     Kind = "std"     // a standard library seed
	Setup   Kind = "setup"   // a setup image (docker save)
)

// Entry is one cache in the directory.
type Entry struct {
	Kind  Kind   `json:"kind"`
	Key   string `json:"key"`
	File  string `json:"file"`
	Bytes int64  `json:"bytes,omitempty"`
	// Cell is the cell whose cache it is (build), for people.
	Cell string `json:"cell,omitempty"`

	// Volume is the cache volume of this run the entry fills or comes
	// from (not in the manifest: names differ from machine to machine).
	Volume string `json:"-"`
	// Spec is a Spec of a cell that mounts Volume, whose image the runtime
	// uses to reach it.
	Spec *job.Spec `json:"-"`
}

// Manifest lists the directory's entries.
type Manifest struct {
	Layout  int       `json:"layout"`
	Parity  string    `json:"parity"`          // the version that saved it
	Saved   time.Time `json:"saved"`           // when
	GoSum   string    `json:"goSum,omitempty"` // digest of go.sum when saved, for people
	Entries []Entry   `json:"entries"`
}

// Find returns the manifest's entry for e (same kind and key).
func (m Manifest) Find(e Entry) (Entry, bool) {
	i := slices.IndexFunc(m.Entries, func(x Entry) bool { return x.Kind == e.Kind && x.Key == e.Key })
	if i < 0 {
		return Entry{}, false
	}
	return m.Entries[i], true
}

// Volumes are the cache volumes a run of specs uses that the directory can
// carry, each once, with their keys: the module cache, each cell's build
// cache, each standard library seed. Run-private volumes (views) are not
// caches. Cells that cannot run are left out.
func Volumes(specs []job.Spec) []Entry {
	var out []Entry
	seen := map[string]bool{}
	for i := range specs {
		s := &specs[i]
		if s.NotRunnable != "" {
			continue
		}
		for _, m := range s.Mounts {
			if m.Kind != job.MountCache || seen[m.Name] {
				continue
			}
			var e Entry
			switch m.Target {
			case policies.ModCacheDir:
				e = Entry{Kind: Modules, Key: "modules", File: "modules.tar"}
			case policies.GoCacheDir:
				key := digest(s.Cell.Key(), imageDigest(s.Image), s.Platform)
				e = Entry{Kind: Build, Key: key, File: "build-" + s.Cell.Key() + ".tar", Cell: s.Cell.String()}
			case policies.StdDir:
				// The seed's identity, whatever the volume is called (a
				// run's own seed is named in its scope).
				h := m.Name[strings.LastIndex(m.Name, "std-")+len("std-"):]
				e = Entry{Kind: Std, Key: h, File: "std-" + h + ".tar"}
			default:
				continue
			}
			seen[m.Name] = true
			e.Volume, e.Spec = m.Name, s
			out = append(out, e)
		}
	}
	return out
}

// SetupEntry is the entry of a setup image tagged tag.
func SetupEntry(tag string) Entry {
	_, h, _ := strings.Cut(tag, ":")
	return Entry{Kind: Setup, Key: tag, File: "setup-" + h + ".tar"}
}

func imageDigest(ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d
	}
	return ref
}

func digest(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(h[:12])
}

// Read returns the directory's manifest. A directory without one (a first
// run, an empty restore) has none: ok is false and err nil. A manifest of
// another layout is an error that says so.
func Read(dir string) (m Manifest, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, fmt.Errorf("--cache-dir: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, false, fmt.Errorf("--cache-dir %s: %s is not a Parity cache manifest: %w", dir, ManifestFile, err)
	}
	if m.Layout != Layout {
		return Manifest{}, false, fmt.Errorf("--cache-dir %s: layout %d, this Parity reads %d: ignored (the next save replaces it)", dir, m.Layout, Layout)
	}
	for _, e := range m.Entries {
		if !filepath.IsLocal(e.File) || strings.ContainsRune(e.File, filepath.Separator) {
			return Manifest{}, false, fmt.Errorf("--cache-dir %s: entry file %q is not a plain name in the directory", dir, e.File)
		}
	}
	return m, true, nil
}

// Write writes the manifest (after the files it names) and removes the
// files of the directory no entry names: the directory holds this run's
// caches, no more.
func Write(dir string, m Manifest) error {
	m.Layout = Layout
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestFile)); err != nil {
		return err
	}
	keep := map[string]bool{ManifestFile: true}
	for _, e := range m.Entries {
		keep[e.File] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range ents {
		if !keep[d.Name()] && !d.IsDir() && (strings.HasSuffix(d.Name(), ".tar") || strings.HasSuffix(d.Name(), ".tmp")) {
			errs = append(errs, os.Remove(filepath.Join(dir, d.Name())))
		}
	}
	return errors.Join(errs...)
}

// Summary says what a restore or save moved, in one line.
type Summary struct {
	Entries  int
	Bytes    int64
	Skipped  []string // why some entries were not moved
	Duration time.Duration
}

func (s Summary) String() string {
	line := fmt.Sprintf("%d caches, %s, in %s", s.Entries, Size(s.Bytes), s.Duration.Round(100*time.Millisecond))
	if len(s.Skipped) > 0 {
		line += "; " + strings.Join(s.Skipped, "; ")
	}
	return line
}

// Size prints a byte count for people.
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

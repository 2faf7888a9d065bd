package matrix

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Ref is an image reference split into its parts.
type Ref struct {
	Repo   string // e.g. "golang" or "127.0.0.1:5000/parity-test/golang"
	Tag    string // e.g. "1.27.1-alpine3.24"; may be empty
	Digest string // "sha256:<64 hex>"
}

func (r Ref) String() string {
	s := r.Repo
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Tagged is the reference without its digest: what `pins update` resolves.
func (r Ref) Tagged() string { return Ref{Repo: r.Repo, Tag: r.Tag}.String() }

var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	repoRE   = regexp.MustCompile(`^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// ParseRef parses "repo[:tag]" with an optional "@sha256:…" digest.
func ParseRef(s string) (Ref, error) {
	var r Ref
	rest := strings.TrimSpace(s)
	if i := strings.Index(rest, "@"); i >= 0 {
		r.Digest, rest = rest[i+1:], rest[:i]
		if !digestRE.MatchString(r.Digest) {
			return Ref{}, fmt.Errorf("image %q: malformed digest %q (want sha256: and 64 lowercase hex digits)", s, r.Digest)
		}
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i:], "/") {
		r.Tag, rest = rest[i+1:], rest[:i]
		if !tagRE.MatchString(r.Tag) {
			return Ref{}, fmt.Errorf("image %q: malformed tag %q", s, r.Tag)
		}
	}
	r.Repo = rest
	if !repoRE.MatchString(r.Repo) {
		return Ref{}, fmt.Errorf("image %q: malformed repository %q", s, r.Repo)
	}
	return r, nil
}

// ParsePinned parses a reference and refuses it unless it carries a digest:
// a tag alone can be moved under us, so the run would not be reproducible.
func ParsePinned(s string) (Ref, error) {
	r, err := ParseRef(s)
	if err != nil {
		return Ref{}, err
	}
	if r.Digest == "" {
		return Ref{}, fmt.Errorf("image %q is not pinned by digest: write it as %s@sha256:<index digest> (`parity pins update` fills it in)", s, r.Tagged())
	}
	return r, nil
}

// Pin is the image one (Go version, libc) pair runs on. The digest is the
// multi-platform index: each arch's manifest is selected from it at run time.
type Pin struct {
	Go    string `json:"go"`
	Libc  Libc   `json:"libc"`
	Image string `json:"image"` // repo:tag@sha256:<index digest>
}

// Pins is a set of pins; later entries override earlier ones for the same (Go, libc).
type Pins []Pin

// Lookup finds the pin of a cell. The error names the cell and the fix.
func (p Pins) Lookup(c Cell) (Pin, Ref, error) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].Go == c.Go && p[i].Libc == c.Libc {
			r, err := ParsePinned(p[i].Image)
			if err != nil {
				return Pin{}, Ref{}, fmt.Errorf("cell %s: %w", c, err)
			}
			return p[i], r, nil
		}
	}
	return Pin{}, Ref{}, fmt.Errorf("cell %s: no image pinned for Go %s with %s; pinned: %s (add one to %s)", c, c.Go, c.Libc, p.describe(), LockFile)
}

// GoVersions lists the pinned Go versions, newest first.
func (p Pins) GoVersions() []string {
	var vs []string
	for _, x := range p {
		if !slices.Contains(vs, x.Go) {
			vs = append(vs, x.Go)
		}
	}
	slices.SortFunc(vs, func(a, b string) int { return CompareGo(b, a) })
	return vs
}

// Merge returns p with over's pins taking precedence.
func (p Pins) Merge(over Pins) Pins { return append(slices.Clone(p), over...) }

func (p Pins) describe() string {
	var s []string
	for _, x := range p {
		s = append(s, x.Go+"/"+string(x.Libc))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// LockFile is the file in the user's repository that overrides the built-in pins.
const LockFile = "parity.lock.json"

// LockVersion is the lock file's format version.
const LockVersion = 1

// Lock is the lock file's content.
type Lock struct {
	Version int  `json:"version"`
	Pins    Pins `json:"pins"`
}

// ParseLock reads a lock file and checks every pin in it.
func ParseLock(data []byte) (Lock, error) {
	var l Lock
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Lock{}, fmt.Errorf("%s: %w", LockFile, err)
	}
	if l.Version != LockVersion {
		return Lock{}, fmt.Errorf("%s: version %d, this Parity reads version %d", LockFile, l.Version, LockVersion)
	}
	if err := l.Check(); err != nil {
		return Lock{}, err
	}
	return l, nil
}

// Check reports every missing or malformed field, one per line.
func (l Lock) Check() error {
	var errs []string
	seen := map[string]bool{}
	for i, p := range l.Pins {
		where := fmt.Sprintf("%s: pin %d (go %q, libc %q)", LockFile, i+1, p.Go, p.Libc)
		if err := checkGoVersion(p.Go); err != nil {
			errs = append(errs, where+": "+err.Error())
		}
		if _, err := ParseLibc(string(p.Libc)); err != nil || p.Libc != Libc(strings.ToLower(string(p.Libc))) {
			errs = append(errs, fmt.Sprintf("%s: libc must be glibc or musl", where))
		}
		if _, err := ParsePinned(p.Image); err != nil {
			errs = append(errs, where+": "+err.Error())
		}
		k := p.Go + "/" + string(p.Libc)
		if seen[k] {
			errs = append(errs, where+": duplicate pin for "+k)
		}
		seen[k] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// Marshal writes the lock in a stable, diff-friendly form.
func (l Lock) Marshal() []byte {
	l.Version = LockVersion
	b, _ := json.MarshalIndent(l, "", "  ")
	return append(b, '\n')
}

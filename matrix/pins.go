package matrix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
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

// Covers checks that every cell has a pin pinned by digest, and names every
// missing or unpinned (Go, libc) pair once, on one line: the cells of two
// architectures share a pin, so per-cell errors would repeat themselves.
func (p Pins) Covers(cells []Cell) error {
	var missing, bad []string
	for _, c := range cells {
		k := "go" + c.Go + "/" + string(c.Libc)
		if slices.Contains(missing, k) || slices.ContainsFunc(bad, func(b string) bool { return strings.HasPrefix(b, k+": ") }) {
			continue
		}
		_, _, err := p.Lookup(c)
		switch {
		case err == nil:
		case !slices.ContainsFunc(p, func(x Pin) bool { return x.Go == c.Go && x.Libc == c.Libc }):
			missing = append(missing, k)
		default:
			_, after, _ := strings.Cut(err.Error(), ": ") // drop the cell name: the pin is the arches' own
			bad = append(bad, k+": "+after)
		}
	}
	var errs []string
	if len(missing) > 0 {
		errs = append(errs, fmt.Sprintf("no image pinned for %s; pinned: %s (add a pin per pair to %s, then run `parity pins update`)", strings.Join(missing, ", "), p.describe(), LockFile))
	}
	errs = append(errs, bad...)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
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

// describe lists the pinned (Go, libc) pairs once each, newest Go first:
// a lock repeats the built-in pairs it overrides.
func (p Pins) describe() string {
	var s []string
	for _, g := range p.GoVersions() {
		for _, l := range Libcs {
			if slices.ContainsFunc(p, func(x Pin) bool { return x.Go == g && x.Libc == l }) {
				s = append(s, "go"+g+"/"+string(l))
			}
		}
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

// DecodeLock is DecodeLockFile of a file named LockFile.
func DecodeLock(data []byte) (Lock, error) { return DecodeLockFile(LockFile, data) }

// DecodeLockFile reads a lock file's structure: one JSON object of this
// version, no unknown field, nothing after it (a second object or the rest
// of a merge conflict would otherwise be ignored). It does not check the
// pins: `parity test` (ParseLockFile) and `parity pins` (which lets a pin
// lack its digest until `pins update` fills it in) both start here. name
// is the file as the user gave it; every error starts with it.
func DecodeLockFile(name string, data []byte) (Lock, error) {
	var l Lock
	if len(bytes.TrimSpace(data)) == 0 {
		return Lock{}, fmt.Errorf("%s: empty file, want a lock such as {\"version\":%d,\"pins\":[...]} (or remove it for the built-in pins)", name, LockVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Lock{}, fmt.Errorf("%s: %s", name, clip(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Lock{}, fmt.Errorf("%s: unexpected content after the lock's JSON object at byte %d (a second object or a merge conflict?)", name, dec.InputOffset())
	}
	if l.Version != LockVersion {
		return Lock{}, fmt.Errorf("%s: version %d, this Parity reads version %d", name, l.Version, LockVersion)
	}
	return l, nil
}

// ParseLock is ParseLockFile of a file named LockFile.
func ParseLock(data []byte) (Lock, error) { return ParseLockFile(LockFile, data) }

// ParseLockFile reads a lock file and checks every pin in it; name is the
// file as the user gave it, for messages.
func ParseLockFile(name string, data []byte) (Lock, error) {
	l, err := DecodeLockFile(name, data)
	if err != nil {
		return Lock{}, err
	}
	if err := l.CheckFile(name); err != nil {
		return Lock{}, err
	}
	return l, nil
}

// Check is CheckFile of a file named LockFile.
func (l Lock) Check() error { return l.CheckFile(LockFile) }

// CheckFile reports every bad pin, on one line that counts them and names
// the file (as the user gave it).
func (l Lock) CheckFile(name string) error {
	var bad []string
	seen := map[string]bool{}
	for i, p := range l.Pins {
		var errs []string
		if err := checkGoVersion(p.Go); err != nil {
			errs = append(errs, err.Error())
		}
		if _, err := ParseLibc(string(p.Libc)); err != nil || p.Libc != Libc(strings.ToLower(string(p.Libc))) {
			errs = append(errs, "libc must be glibc or musl")
		}
		if _, err := ParsePinned(p.Image); err != nil {
			errs = append(errs, err.Error())
		}
		k := p.Go + "/" + string(p.Libc)
		if seen[k] {
			errs = append(errs, "duplicate pin for "+k)
		}
		seen[k] = true
		if len(errs) > 0 {
			bad = append(bad, fmt.Sprintf("pin %d (go %q, libc %q): %s", i+1, p.Go, p.Libc, strings.Join(errs, ", ")))
		}
	}
	if err := OneLine(bad, "bad pins"); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// MaxListed is how many problems OneLine lists before "and N more", and
// MaxProblemLen how long each may be: a lock of a million bad pins is
// still a line a person reads.
const (
	MaxListed     = 5
	MaxProblemLen = 500
)

// OneLine joins problems into one line that counts them ("3 bad pins: a;
// b; c"), so a command's error stays one line however many there are: the
// first MaxListed, each clipped to MaxProblemLen, then "and N more".
// plural names what is counted.
func OneLine(problems []string, plural string) error {
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return errors.New(clip(problems[0]))
	}
	shown := make([]string, 0, MaxListed)
	for _, p := range problems[:min(len(problems), MaxListed)] {
		shown = append(shown, clip(p))
	}
	more := ""
	if n := len(problems) - len(shown); n > 0 {
		more = fmt.Sprintf("; and %d more", n)
	}
	return fmt.Errorf("%d %s: %s%s", len(problems), plural, strings.Join(shown, "; "), more)
}

// clip shortens s to MaxProblemLen bytes (on a rune boundary) and makes it
// one line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= MaxProblemLen {
		return s
	}
	cut := MaxProblemLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Marshal writes the lock in a stable, diff-friendly form.
func (l Lock) Marshal() []byte {
	l.Version = LockVersion
	b, _ := json.MarshalIndent(l, "", "  ")
	return append(b, '\n')
}

var (
	mirrorHostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$`)
	mirrorPathRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
)

// ParseMirror checks a registry mirror, "host[:port][/path-prefix]", and
// splits it. A scheme is refused: whether to use plain HTTP is the
// insecure option's decision, stated once, not a scheme that could silently
// disagree with it. The host must read as a host to Docker's rule (a dot, a
// port, or localhost), or a rewritten name would be a Docker Hub repository.
func ParseMirror(m string) (host, prefix string, err error) {
	m = strings.TrimSpace(m)
	if strings.Contains(m, "://") {
		return "", "", fmt.Errorf("mirror %q: give host[:port][/path] without a scheme (plain HTTP is chosen with the insecure option)", m)
	}
	host, prefix, _ = strings.Cut(strings.TrimSuffix(m, "/"), "/")
	switch {
	case host == "":
		return "", "", fmt.Errorf("mirror %q: no host (want host[:port][/path], e.g. mirror.example:5000)", m)
	case !mirrorHostRE.MatchString(host):
		return "", "", fmt.Errorf("mirror %q: %q is not a registry host[:port]", m, host)
	case !strings.ContainsAny(host, ".:") && host != "localhost":
		return "", "", fmt.Errorf("mirror %q: %q is not a registry host (want a name with a dot or a port, or localhost)", m, host)
	case !portOK(host):
		return "", "", fmt.Errorf("mirror %q: port of %q out of range (1-65535)", m, host)
	case prefix != "" && !mirrorPathRE.MatchString(prefix):
		return "", "", fmt.Errorf("mirror %q: path %q is not a repository path (lowercase letters, digits, . _ - and /)", m, prefix)
	}
	return host, prefix, nil
}

// portOK reports whether host's port, if it has one, is 1-65535.
func portOK(host string) bool {
	_, port, ok := strings.Cut(host, ":")
	if !ok {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// officialPlatforms is what the official golang image indexes publish for
// Linux, by libc, as the Architectures lines of docker-library's
// library/golang file list them (checked against official-images at the
// Go 1.25.3 and 1.24.9 entries): trixie amd64, arm32v7, arm64v8, i386,
// ppc64le, riscv64, s390x; bookworm the same but mips64le for riscv64
// (bookwormLacks); alpine3.21 and 3.22 amd64, arm32v6, arm32v7, arm64v8,
// i386, ppc64le, riscv64, s390x. Other repositories (a mirror's copy, a
// lock's own images) are not known in advance: their index is read when
// the cell starts.
var officialPlatforms = map[Libc][]Arch{
	Glibc: {AMD64, ARM64, I386, ARM, S390X, PPC64LE, RISCV64},
	Musl:  {AMD64, ARM64, I386, ARM, S390X, PPC64LE, RISCV64},
}

// bookwormLacks are the arches the official golang *-bookworm images do
// not publish, though trixie's do.
var bookwormLacks = []Arch{RISCV64}

// officialRepos are the names of the official golang repository.
var officialRepos = []string{"golang", "library/golang", "docker.io/library/golang", "index.docker.io/library/golang", "docker.io/golang"}

// Offers says whether the pin's index publishes arch a: known is false
// when Parity cannot tell before reading the index (not the official
// golang repository).
func (p Pin) Offers(a Arch) (ok, known bool) {
	return p.offers(a, officialPlatforms)
}

func (p Pin) offers(a Arch, table map[Libc][]Arch) (ok, known bool) {
	r, err := ParseRef(p.Image)
	if err != nil || !slices.Contains(officialRepos, r.Repo) {
		return false, false
	}
	arches, known := table[p.Libc]
	if p.Libc == Glibc && strings.Contains(r.Tag, "bookworm") && slices.Contains(bookwormLacks, a) {
		return false, known
	}
	return slices.Contains(arches, a), known
}

// Unavailable names, on one line, the cells whose pinned index is known not
// to publish their platform, with the fix; nil when none is.
func (p Pins) Unavailable(cells []Cell) error {
	return p.unavailable(cells, officialPlatforms)
}

func (p Pins) unavailable(cells []Cell, table map[Libc][]Arch) error {
	var bad []string
	for _, c := range cells {
		pin, _, err := p.Lookup(c)
		if err != nil {
			continue // Covers reports it
		}
		if ok, known := pin.offers(c.Arch, table); known && !ok {
			bad = append(bad, fmt.Sprintf("%s: %s publishes no %s (drop it with --exclude '*/%s/%s', or pin an image that has it in %s)", c, pin.Image, c.Platform(), c.Libc, c.Arch, LockFile))
		}
	}
	return OneLine(bad, "cells whose pinned image lacks their platform")
}

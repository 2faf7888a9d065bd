package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
)

// DefaultCacheScope names a project's cache volumes: "parity-" and a short
// hash of the module path and a stable identity of the source (for a git
// checkout its root commits, else its absolute path: SourceIdentity).
//
// Tests can write into GOCACHE and GOMODCACHE, so volumes shared across
// projects would let one project's tests plant build outputs another
// project's tests then run. The module path alone is not enough: two
// unrelated modules may both be called "example.com/m" (or just "m").
// The same project gets the same volumes on every run, so caches stay warm;
// projects share volumes only when --cache-scope names one on purpose.
func DefaultCacheScope(module, sourceID string) string {
	h := sha256.Sum256([]byte(module + "\x00" + sourceID))
	return "parity-" + hex.EncodeToString(h[:6])
}

// A cache scope is the first part of Docker volume names
// ("<scope>-go1.27.1-musl-amd64-gocache"): Docker's volume name rule, and
// short enough to leave room for the rest.
var cacheScopeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func checkCacheScope(s string) error {
	if !cacheScopeRE.MatchString(s) {
		return fmt.Errorf("--cache-scope %q: want a volume-name part: a letter or digit, then up to 63 letters, digits, _ . or - (e.g. my-team)", s)
	}
	return nil
}

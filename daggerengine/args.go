package daggerengine

import (
	"crypto/sha256"
	"encoding/hex"
)

// SourceID is the source's identity on an engine, from its go.mod and
// go.sum: with the module path (pipeline.DefaultCacheScope) it names the
// cache volumes. The engine sees no .git (the module excludes it) and no
// path of the caller's, so two projects, or two forks, that happen to share
// a module path still get volumes of their own unless their go.mod and
// go.sum are the same; an edit of either starts fresh caches.
func SourceID(goMod, goSum []byte) string {
	h := sha256.New()
	h.Write(goMod)
	h.Write([]byte{0})
	h.Write(goSum)
	return "dagger-source:" + hex.EncodeToString(h.Sum(nil))[:32]
}

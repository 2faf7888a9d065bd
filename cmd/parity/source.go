package main

import (
	"os/exec"
	"slices"
	"strings"
)

// sourceIdentity is what pipeline.DefaultCacheScope hashes with the module
// path: the root commits of a git checkout, the same in every clone of the
// project wherever it lives, so its caches stay warm across worktrees and
// fresh clones; else the source's absolute path. A shallow clone's root is
// its cut-off commit, which moves with every fetch, so it counts as a
// plain directory.
func sourceIdentity(dir string) string {
	if out, err := exec.Command("git", "-C", dir, "rev-parse", "--is-shallow-repository").Output(); err == nil && strings.TrimSpace(string(out)) == "false" {
		if out, err := exec.Command("git", "-C", dir, "rev-list", "--max-parents=0", "HEAD").Output(); err == nil {
			roots := strings.Fields(string(out))
			if len(roots) > 0 {
				slices.Sort(roots)
				return "git:" + strings.Join(roots, ",")
			}
		}
	}
	return "path:" + dir
}

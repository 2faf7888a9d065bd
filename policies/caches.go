package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/parity-ci/parity/job"
)

// Policy ids of the caches: what persists between runs, who writes it and
// who only reads it.
const (
	IDModuleCache = "module-cache"
	IDCacheTrust  = "cache-trust"
	IDBuild       = "build-offline"
	IDTestView    = "test-cache-view"
	IDStdSeed     = "std-seed"
)

// StdDir is where the build step sees the standard library seed.
const StdDir = "/cache/std"

// StdSeedPrefix starts the name of every seed volume.
const StdSeedPrefix = "parity-std-"

// stdSeedLayout changes when what a seed holds, or how the build step
// fills it, changes: older seeds are then left alone.
const stdSeedLayout = "1"

// StdSeedName names the seed of the standard library a cell's build step
// fills and copies from: one per pinned image, platform and set of flags
// that change how the standard library compiles (-race, CGO_ENABLED,
// build tags), shared by every project on the machine. It holds nothing
// of any project: only the standard library packages projects imported,
// compiled by the go command from the image's GOROOT.
//
// The image counts by its index digest alone: the same image through a
// mirror, or from another registry, compiles the same standard library.
func StdSeedName(image, platform string, race, cgo bool, tags []string) string {
	if _, d, ok := strings.Cut(image, "@"); ok {
		image = d
	}
	h := sha256.Sum256([]byte(strings.Join([]string{stdSeedLayout, image, platform, fmt.Sprint(race), fmt.Sprint(cgo), strings.Join(tags, ",")}, "\n")))
	return StdSeedPrefix + hex.EncodeToString(h[:8])
}

// StdSeedMarker starts the names of the files the build step leaves in a
// seed, and in a build cache it copied one into: one per set of standard
// library packages (a checksum of the list), so a project whose packages
// were seeded and copied before skips both.
const StdSeedMarker = "parity-std-seeded-"

// BuildScript is the build step. Its arguments are go test's build flags
// (-race, -tags=...), "--", then the packages. Nothing of the module runs:
// go list reads the import graph, and go test -run='^$' -exec=true
// compiles, links and vets each test binary and runs `true` instead of it.
//
//  1. The standard library packages the tests import (those an importer
//     outside the standard library can name; the rest are their
//     dependencies) are compiled and vetted, as go test would, into the
//     seed at $PARITY_STD, through a package that only imports them: once
//     per seed and set of packages. It has no test files, so go test
//     compiles and vets it and links nothing.
//  2. A build cache that has not had them yet gets a copy of the seed
//     (files it already holds are kept).
//  3. The module's test packages are compiled into the build cache.
//
// It exits with go test's status in step 3: 1 when a package does not
// build, which the test step then reports.
const BuildScript = `set -u
flags=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags="$flags $1"; shift; done
[ $# -gt 0 ] && shift
here=$(pwd)
std=$(go list -e -deps -test $flags -f '{{if .Standard}}{{.ImportPath}}{{end}}' "$@" 2>/dev/null | grep -v -e internal -e '^vendor/' | sort -u)
if [ -n "$std" ] && [ -n "${PARITY_STD:-}" ]; then
  mark=` + StdSeedMarker + `$(printf '%s\n' "$std" | cksum | tr ' ' '-')
  if [ ! -e "$PARITY_STD/$mark" ]; then
    d=$(mktemp -d) && cd "$d" && {
      printf 'module parity.invalid/std\n' >go.mod
      { echo 'package std'; echo 'import ('; for p in $std; do echo "	_ \"$p\""; done; echo ')'; } >std.go
      if GOCACHE="$PARITY_STD" go test -run='^$' -exec=true $flags . >/dev/null 2>&1; then
        : >"$PARITY_STD/$mark"
      else
        echo "parity: the standard library seed could not be built; the module's own build fills the build cache" >&2
      fi
      cd "$here"
      rm -rf "$d"
    }
  fi
  if [ -e "$PARITY_STD/$mark" ] && [ ! -e "$GOCACHE/$mark" ]; then
    cp -R -n "$PARITY_STD/." "$GOCACHE/" 2>/dev/null || cp -R "$PARITY_STD/." "$GOCACHE/"
  fi
fi
exec go test -run='^$' -exec=true $flags "$@"`

// buildStep compiles every test package into the build cache and runs
// none of them.
func (p *planner) buildStep(race bool) job.Step {
	args := []string{"sh", "-c", BuildScript, "sh"}
	if race {
		args = append(args, "-race")
	}
	if len(p.opt.Tags) > 0 {
		args = append(args, "-tags="+strings.Join(p.opt.Tags, ","))
	}
	args = append(append(args, "--"), p.opt.Packages...)
	if p.opt.SourceMode == SourceCopy {
		// Build where the tests run: the build cache keys the module's
		// packages by their directory.
		args = job.SourceCopyArgs(SrcDir, CopyDir, []string{"go.mod", "go.sum"}, args)
	}
	return job.Step{Name: job.StepBuild, Args: args, Env: []string{"GOPROXY=off", "PARITY_STD=" + StdDir}}
}

// trusted reports whether this run may write the caches later runs read.
func (p *planner) trusted() bool { return p.opt.CacheTrust != Untrusted }

// cacheMounts plans the caches once the steps are known: which steps see
// each cache, and how.
//
//   - The module cache is the project's, shared by its cells. The deps
//     step writes it; every later step sees it read-only (Docker).
//   - The build cache is the cell's. The build step writes it; tests see
//     a throwaway view of it, so no test ever writes what a later run
//     reads (Docker: a copy-on-write overlay for the run; Dagger: a copy
//     in the test step's own layer).
//   - The standard library seed is the machine's, per image and flags;
//     only the build step sees it.
//   - An untrusted run (a pull request, a fork) writes neither cache:
//     every step sees views, thrown away with the run. It may add
//     standard library packages to the seed, which hold nothing of it.
func (p *planner) cacheMounts(race, cgo bool) {
	owner := p.opt.User
	var seen []job.StepName
	for _, st := range p.spec.Steps {
		if st.Name != job.StepSetup && st.Name != job.StepProbe {
			seen = append(seen, st.Name)
		}
	}
	after := func(n job.StepName) []job.StepName {
		var out []job.StepName
		for _, s := range seen {
			if s != n {
				out = append(out, s)
			}
		}
		return out
	}
	mod := job.Mount{Kind: job.MountCache, Target: ModCacheDir, Name: p.opt.CacheScope + "-gomod", Owner: owner, Steps: seen}
	build := job.Mount{Kind: job.MountCache, Target: GoCacheDir, Name: p.cacheName("gocache"), Owner: owner, Steps: after(job.StepDeps)}
	seedName := StdSeedName(p.spec.Image, p.spec.Platform, race, cgo, p.opt.Tags)
	if p.opt.PrivateSeeds {
		seedName = p.opt.CacheScope + "-std-" + strings.TrimPrefix(seedName, StdSeedPrefix)
	}
	seed := job.Mount{Kind: job.MountCache, Target: StdDir, Name: seedName, Owner: owner, Steps: []job.StepName{job.StepBuild}}
	if p.rt.ReadOnlyCaches {
		mod.ReadOnlySteps = after(job.StepDeps)
	}
	switch {
	case p.rt.CacheViews && !p.trusted():
		mod.ViewSteps, build.ViewSteps = mod.Steps, build.Steps
	case p.rt.CacheViews:
		build.ViewSteps = []job.StepName{job.StepTest}
	default:
		// Each test step gets its own copy of both caches.
		mod.ViewSteps, build.ViewSteps = []job.StepName{job.StepTest}, []job.StepName{job.StepTest}
	}
	p.spec.Mounts = append(p.spec.Mounts, build, mod, seed)

	p.decide(IDModuleCache, "per-project", "one module cache for the project's cells, %s: modules are the same on every platform, so each is downloaded once, and every cell's deps step checks them against go.sum and verifies them", mod.Name)
	p.decide(IDCaches, "per-cell", "the build cache is the cell's, %s: musl and glibc, Go versions and arches never share build outputs, nor do two projects unless --cache-scope names a shared scope", build.Name)
	if p.rt.ReadOnlyCaches {
		p.decide(IDModCacheRO, "read-only", "the module cache is read-only to every step after deps: the deps step verified it, and no test may change it for the next run")
	} else {
		p.decide(IDModCacheRO, "copied", "%s cannot mount a cache read-only: the test step reads a copy of the module cache in its own layer, never the volume; every run's deps step verifies the volume again", p.rt.Name)
	}
	p.decide(IDBuild, "offline", "the build step compiles, links and vets every test package (go test -run='^$' -exec=true), offline, and runs none of them: no code of the module runs where a cache is written")
	if p.rt.CacheViews {
		p.decide(IDTestView, "copy-on-write", "tests see a copy-on-write view of the build cache, thrown away after the run: what a test writes there (a planted or forged build output, a test result) never reaches a later run; so go test never replays a test result from an earlier run")
	} else {
		p.decide(IDTestView, "copied", "the test step sees copies of the build and module caches in its own layer, made before any test runs, never the volumes: what a test writes there never reaches a later call; %s replays a whole test step only when go test completed (see docs/dagger.md)", p.rt.Name)
	}
	p.decide(IDStdSeed, "shared", "the standard library packages the tests import are compiled once per image and flags into %s, shared by every project on this machine (it holds only the go command's build of the image's standard library), and copied into a build cache that lacks them", seed.Name)
	switch {
	case !p.rt.CacheViews:
		p.decide(IDCacheTrust, "not-applied", "%s keeps its caches in the engine, and only steps that run none of the module's code write them (deps, build: modules checked against go.sum, build outputs keyed by their inputs), whatever the ref; --cache-dir does not apply", p.rt.Name)
	case p.trusted():
		p.decide(IDCacheTrust, "trusted", "%s: the deps and build steps write the module and build caches later runs read (tests never do)", p.trustReason())
	default:
		p.decide(IDCacheTrust, "untrusted", "%s: every step sees copy-on-write views of the caches, thrown away after the run; nothing this run writes is read by a later run (the standard library seed aside: it holds no code of the module)", p.trustReason())
	}
}

func (p *planner) trustReason() string {
	if p.opt.TrustReason != "" {
		return p.opt.TrustReason
	}
	return "set by --cache-trust"
}

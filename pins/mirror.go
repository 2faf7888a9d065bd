package pins

import (
	"fmt"
	"os"
	"strings"

	"github.com/parity-ci/parity/matrix"
)

// MirrorEnv names the environment variable that sets Options.Mirror when the
// command line does not.
const MirrorEnv = "PARITY_REGISTRY_MIRROR"

// MirrorFromEnv returns the mirror configured in PARITY_REGISTRY_MIRROR, or "".
func MirrorFromEnv() string { return strings.TrimSpace(os.Getenv(MirrorEnv)) }

// dockerHubHosts are the names Docker Hub answers to; a reference with no
// host at all also means Docker Hub.
var dockerHubHosts = map[string]bool{
	"docker.io":            true,
	"index.docker.io":      true,
	"registry-1.docker.io": true,
}

// splitHost splits a repository into its registry host and path using the
// same rule as Docker: the first component is a host only when it contains
// a dot or a port, or is "localhost". Otherwise the repository is on Docker
// Hub, whose official images live under "library/".
func splitHost(repo string) (host, path string) {
	first, rest, ok := strings.Cut(repo, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host, path = first, rest
	} else {
		host, path = "docker.io", repo
	}
	if dockerHubHosts[host] {
		host = "docker.io"
		if !strings.Contains(path, "/") {
			path = "library/" + path
		}
	}
	return host, path
}

// ApplyMirror rewrites image so that it is fetched from mirror, keeping its
// tag and digest. mirror is "host[:port]" or "host[:port]/path-prefix",
// without a scheme. The rule:
//
//   - the image's registry host is replaced by the mirror (host and prefix);
//   - Docker Hub images keep their full Hub path, so an official image such
//     as "golang" becomes "<mirror>/library/golang", and "user/app" becomes
//     "<mirror>/user/app";
//   - any other "host/path" image becomes "<mirror>/path";
//   - an image already on the mirror is left as it is, so the rewrite can be
//     applied twice.
//
// An empty mirror returns image unchanged. Digests are content addresses, so
// a faithful mirror serves the same digests as the registry it mirrors: the
// lock file always keeps the canonical names and only fetching is redirected.
func ApplyMirror(image, mirror string) (string, error) {
	if mirror == "" {
		return image, nil
	}
	mhost, mprefix, err := parseMirror(mirror)
	if err != nil {
		return "", err
	}
	r, err := matrix.ParseRef(image)
	if err != nil {
		return "", err
	}
	host, path := splitHost(r.Repo)
	if host == mhost && (mprefix == "" || strings.HasPrefix(path, mprefix+"/")) {
		return image, nil
	}
	base := mhost
	if mprefix != "" {
		base += "/" + mprefix
	}
	out := matrix.Ref{Repo: base + "/" + path, Tag: r.Tag, Digest: r.Digest}
	if _, err := matrix.ParseRef(out.String()); err != nil {
		return "", fmt.Errorf("mirror %q: rewriting %s: %w", mirror, image, err)
	}
	return out.String(), nil
}

// parseMirror is matrix.ParseMirror: the pipeline checks --registry-mirror
// with the same rule before anything runs.
func parseMirror(m string) (host, prefix string, err error) { return matrix.ParseMirror(m) }

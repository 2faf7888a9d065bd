// Package probe proves that a cell is what it claims to be: a shell script
// run first in every cell prints what the container really is, and Verify
// compares that with the cell's Spec. A cell whose probe disagrees is
// reported as an environment mismatch instead of producing test results
// that would be blamed on the wrong platform.
package probe

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parity-ci/parity/job"
)

// Script prints KEY=VALUE lines. POSIX sh only: Alpine has busybox, no bash.
// cc_libc asks the C compiler which libc its headers belong to, since that is
// the libc cgo code links; loaders lists the dynamic loaders present
// (glibc's is ld-linux-*.so.* on most arches, ld-linux.so.2 on 386,
// ld64.so.1 on s390x and ld64.so.2 on ppc64le).
const Script = `set -u
echo "uname_m=$(uname -m)"
echo "go_version=$(go env GOVERSION 2>&1)"
echo "goarch=$(go env GOARCH 2>&1)"
echo "cgo_enabled=$(go env CGO_ENABLED 2>&1)"
cc=$(go env CC 2>/dev/null); echo "cc=$cc"
loaders=""
for f in /lib/ld-musl-*.so.1; do [ -e "$f" ] && loaders="$loaders musl"; break; done
for f in /lib64/ld-linux-*.so.2 /lib/ld-linux-*.so.* /lib/*/ld-linux-*.so.* /lib/ld-linux.so.* /lib/ld64.so.* /lib64/ld64.so.*; do [ -e "$f" ] && { loaders="$loaders glibc"; break; }; done
echo "loaders=${loaders# }"
cc_libc=none
if [ -n "$cc" ] && command -v "$cc" >/dev/null 2>&1; then
  if printf '#include <stdio.h>\n' | "$cc" -E -dM -x c - 2>/dev/null | grep -q __GLIBC__; then cc_libc=glibc; else cc_libc=musl; fi
fi
echo "cc_libc=$cc_libc"
echo "uid=$(id -u)"
while IFS=':' read -r k v; do
  case "$k" in CapEff|CapBnd|NoNewPrivs|Seccomp) echo "$k=$(echo $v)" ;; esac
done </proc/self/status
if (: >/parity-probe) 2>/dev/null; then rm -f /parity-probe; echo rootfs=writable; else echo rootfs=readonly; fi
if (: >./.parity-probe) 2>/dev/null; then rm -f ./.parity-probe; echo source=writable; else echo source=readonly; fi
t=/tmp/parity-probe-exec; printf '#!/bin/sh\nexit 0\n' >"$t" 2>/dev/null && chmod +x "$t" 2>/dev/null
if "$t" 2>/dev/null; then echo tmp_exec=yes; else echo tmp_exec=no; fi; rm -f "$t"
`

// Parse reads the script's output. Unknown lines are kept under their key.
func Parse(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// Verify lists every way the probed container differs from its Spec.
func Verify(s job.Spec, p map[string]string) error {
	var bad []string
	want := func(key, expected, why string) {
		if got := p[key]; got != expected {
			bad = append(bad, fmt.Sprintf("%s: want %s, got %q (%s)", key, expected, got, why))
		}
	}
	// uname -m is the kernel's: a 386 cell on an amd64 kernel says x86_64;
	// go env GOARCH below proves the userland.
	if !slices.Contains(s.Cell.Arch.Unames(), p["uname_m"]) {
		bad = append(bad, fmt.Sprintf("uname -m: got %q, the cell claims %s", p["uname_m"], s.Cell.Arch))
	}
	want("goarch", string(s.Cell.Arch), "go env GOARCH")
	want("go_version", "go"+s.Cell.Go, "the image's Go")
	cgo := envValue(s.Env, "CGO_ENABLED")
	want("cgo_enabled", cgo, "CGO_ENABLED set by the cgo policy")
	if cgo == "1" {
		want("cc_libc", string(s.Cell.Libc), "the libc the C compiler's headers belong to, which cgo code links")
	} else if !slices.Contains(strings.Fields(p["loaders"]), string(s.Cell.Libc)) {
		bad = append(bad, fmt.Sprintf("loaders: no %s dynamic loader in the image (found %q)", s.Cell.Libc, p["loaders"]))
	}
	if !s.InsecureRoot {
		want("rootfs", "readonly", "tests must not be able to change the image")
	}
	want("source", "readonly", "the module is mounted read-only")
	want("tmp_exec", "yes", "go test runs binaries from /tmp")
	if len(bad) > 0 {
		return fmt.Errorf("environment check failed: %s", strings.Join(bad, "; "))
	}
	return nil
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

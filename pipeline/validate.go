package pipeline

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/parity-ci/parity/matrix"
)

// Checks of single values that both front doors call: the CLI with what it
// read from flags, the environment and files, the Dagger module with its
// arguments. Each error is one line that starts with the value's name as
// the user wrote it: a flag ("--ca-bundle /x") or a variable
// ("PARITY_CA_BUNDLE=/x").

// MirrorFlag and MirrorEnv are where a registry mirror can come from: the
// values of Request.MirrorFrom.
const (
	MirrorFlag = "--registry-mirror"
	MirrorEnv  = "PARITY_REGISTRY_MIRROR"
)

// CheckMirror checks a registry mirror, host[:port][/path]; from is where
// it came from (MirrorFlag or MirrorEnv; "" reads as MirrorFlag).
func CheckMirror(from, mirror string) error {
	if from == "" {
		from = MirrorFlag
	}
	if _, _, err := matrix.ParseMirror(mirror); err != nil {
		if from == MirrorEnv {
			return fmt.Errorf("%s=%s: %w", MirrorEnv, mirror, err)
		}
		return fmt.Errorf("%s: %w", from, err)
	}
	return nil
}

// CheckCABundle checks the content of a CA bundle: one or more PEM
// certificates that parse. name is the file as the user gave it, e.g.
// "--ca-bundle /etc/ssl/corp.pem" or "PARITY_CA_BUNDLE=/etc/ssl/corp.pem".
// A directory is the caller's to refuse (it has no content to pass).
func CheckCABundle(name string, data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s: empty file, want PEM certificates (-----BEGIN CERTIFICATE-----)", name)
	}
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue // a key or parameters beside the certificates: not ours to use
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("%s: certificate %d does not parse: %v", name, n+1, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: no PEM certificate in it, want -----BEGIN CERTIFICATE----- blocks", name)
	}
	return nil
}

// checkPackages refuses patterns go test would misread (a flag) and paths
// that leave the module: the cells mount the module alone, and a pattern
// such as ../../etc or /etc names something the user did not mean to test.
func checkPackages(patterns []string) error {
	for _, p := range patterns {
		// go test reads flags after the packages too: "-exec=/bin/false"
		// would be obeyed, not tested.
		if strings.HasPrefix(p, "-") {
			return fmt.Errorf("--packages %q: a package pattern cannot start with - (go test flags have flags of their own)", p)
		}
		if strings.HasPrefix(p, "/") || strings.Contains(p, `\`) {
			return fmt.Errorf("--packages %q: outside the module: give patterns relative to it, such as ./... or ./pkg/...", p)
		}
		if c := path.Clean(p); c == ".." || strings.HasPrefix(c, "../") {
			return fmt.Errorf("--packages %q: outside the module: give patterns relative to it, such as ./... or ./pkg/...", p)
		}
	}
	return nil
}

// envKeyRE is a name the shell and the go command read as a variable.
var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkDepsEnv refuses a variable name with a space, "=" or anything else
// no program could read.
func checkDepsEnv(env map[string]string) error {
	for k := range env {
		if !envKeyRE.MatchString(k) {
			return fmt.Errorf("--deps-env %q: a variable name is letters, digits and _, not starting with a digit", k)
		}
	}
	return nil
}

// checkGoVersions refuses a --go item that is not a Go release.
func checkGoVersions(items []string) error {
	for _, g := range items {
		if err := matrix.CheckGoVersion(g); err != nil {
			return fmt.Errorf("--go %q: not a Go version (want releases such as 1.27.1, comma-separated)", g)
		}
	}
	return nil
}

// MaxCellCPUs bounds --cell-cpus before the host is known: no machine a
// cell runs on has more cores, and a bigger number overflows what the
// runtime takes (nano-CPUs).
const MaxCellCPUs = 1024

// parseCellCPUs reads --cell-cpus: a number of cores, 0.01 to MaxCellCPUs;
// empty means the default (the host's cores).
func parseCellCPUs(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	cpus, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(cpus) || cpus < 0.01 || cpus > MaxCellCPUs {
		return 0, fmt.Errorf("--cell-cpus %q: want a number of cores from 0.01 to %d, such as 2 or 0.5 (leave it out for the host's cores)", s, MaxCellCPUs)
	}
	return cpus, nil
}

// CheckCacheScope checks a cache scope (--cache-scope) as a part of volume
// names, for commands that take one outside a Request (parity clean).
func CheckCacheScope(scope string) error { return checkCacheScope(scope) }

package testimages

import (
	"os"
	"os/exec"
	"strings"
)

// HostDeps returns what a container's module download needs from this
// machine: its GOPROXY, and the CA bundle that trusts the TLS-intercepting
// proxy in front of the network ("" when there is none). Tests and the bench
// pass both to the deps step explicitly, as users do with --ca-bundle.
func HostDeps() (env map[string]string, caBundle string) {
	env = map[string]string{}
	if out, err := exec.Command("go", "env", "GOPROXY").Output(); err == nil {
		env["GOPROXY"] = strings.TrimSpace(string(out))
	}
	for _, p := range []string{os.Getenv("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return env, p
		}
	}
	return env, ""
}

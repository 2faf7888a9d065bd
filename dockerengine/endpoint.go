package dockerengine

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/tlsconfig"

	"github.com/parity-ci/parity/matrix"
)

// Endpoint is a Docker daemon that runs the cells of one platform
// (--endpoint linux/arm64=ssh://user@arm-host), as docker buildx's
// per-platform nodes do. The zero Endpoint is the default daemon
// (DOCKER_HOST, else the local socket).
type Endpoint struct {
	Platform string // "linux/arm64", as matrix.Cell.Platform names it
	URL      string // unix://, tcp:// (TLS: ?certs=DIR[&tlsverify=0]) or ssh://
}

// Default reports whether this is the default daemon.
func (ep Endpoint) Default() bool { return ep.URL == "" }

// String names the endpoint in messages, decisions and labels.
func (ep Endpoint) String() string {
	if ep.Default() {
		return "default (" + defaultHost() + ")"
	}
	return ep.Platform + "=" + ep.URL
}

// ParseEndpoint reads PLATFORM=URL. The platform is one a cell can have
// (linux/<arch>, linux/arm/v7); the URL's scheme is one Docker's own
// clients connect to: unix, tcp (TLS with ?certs=DIR, holding ca.pem,
// cert.pem and key.pem as DOCKER_CERT_PATH does, verified unless
// tlsverify=0; else DOCKER_CERT_PATH and DOCKER_TLS_VERIFY as for
// DOCKER_HOST), or ssh (docker/cli's helper: `ssh HOST docker system
// dial-stdio`).
func ParseEndpoint(s string) (Endpoint, error) {
	platform, raw, ok := strings.Cut(s, "=")
	if !ok || platform == "" || raw == "" {
		return Endpoint{}, fmt.Errorf("--endpoint %q: want PLATFORM=URL, such as linux/arm64=ssh://user@arm-host", s)
	}
	osName, rest, _ := strings.Cut(platform, "/")
	arch, _, _ := strings.Cut(rest, "/")
	a, err := matrix.ParseArch(arch)
	if osName != "linux" || err != nil {
		return Endpoint{}, fmt.Errorf("--endpoint %q: %q is not a platform of the matrix (linux/amd64, linux/arm64, linux/386, linux/arm/v7, linux/s390x, linux/ppc64le, linux/riscv64)", s, platform)
	}
	ep := Endpoint{Platform: matrix.Cell{Arch: a}.Platform(), URL: raw}
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("--endpoint %q: %w", s, err)
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return Endpoint{}, fmt.Errorf("--endpoint %q: a unix socket needs its path, unix:///var/run/docker.sock", s)
		}
	case "tcp":
		if u.Host == "" {
			return Endpoint{}, fmt.Errorf("--endpoint %q: tcp needs host:port, tcp://arm-host:2376", s)
		}
		for k := range u.Query() {
			if k != "certs" && k != "tlsverify" {
				return Endpoint{}, fmt.Errorf("--endpoint %q: unknown option %s (tcp takes certs=DIR and tlsverify=0|1)", s, k)
			}
		}
	case "ssh":
		if _, err := connhelper.GetConnectionHelper(raw); err != nil {
			return Endpoint{}, fmt.Errorf("--endpoint %q: %w", s, err)
		}
	default:
		return Endpoint{}, fmt.Errorf("--endpoint %q: want a unix://, tcp:// or ssh:// URL", s)
	}
	return ep, nil
}

// ParseEndpoints reads every --endpoint; a platform given twice is
// refused (which one was meant is not Parity's guess).
func ParseEndpoints(items []string) ([]Endpoint, error) {
	var eps []Endpoint
	seen := map[string]string{}
	for _, it := range items {
		ep, err := ParseEndpoint(it)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[ep.Platform]; ok {
			return nil, fmt.Errorf("--endpoint: %s is given twice (%s and %s): one daemon per platform", ep.Platform, prev, ep.URL)
		}
		seen[ep.Platform] = ep.URL
		eps = append(eps, ep)
	}
	return eps, nil
}

// host is the daemon URL the endpoint's client speaks to.
func (ep Endpoint) host() string {
	if ep.Default() {
		return defaultHost()
	}
	return ep.URL
}

// Remote reports whether the daemon may be on another machine, where the
// source cannot be bind-mounted: every endpoint but a unix socket (npipe:
// Windows' local pipe). A tcp:// daemon on this host is treated alike.
func (ep Endpoint) Remote() bool {
	h := ep.host()
	return !strings.HasPrefix(h, "unix://") && !strings.HasPrefix(h, "npipe://")
}

func defaultHost() string {
	if h := os.Getenv(client.EnvOverrideHost); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

// clientOpts are the Docker client options that reach the endpoint:
// Docker's own connection helper for ssh, TLS for tcp as the docker CLI
// sets it up, the socket itself for unix.
func (ep Endpoint) clientOpts() ([]client.Opt, error) {
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	raw := ep.host()
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme == "ssh":
		h, err := connhelper.GetConnectionHelper(raw)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithHost(h.Host), client.WithDialContext(h.Dialer))
		if ep.Default() {
			opts = append(opts, client.WithVersionFromEnv())
		}
		return opts, nil
	case ep.Default():
		return append(opts, client.FromEnv), nil
	case u.Scheme == "tcp":
		q := u.Query()
		certs, verify := q.Get("certs"), q.Get("tlsverify") != "0"
		if certs == "" {
			// As for DOCKER_HOST: the environment's certificates, if any.
			certs, verify = os.Getenv(client.EnvOverrideCertPath), os.Getenv(client.EnvTLSVerify) != ""
		}
		if certs != "" {
			tlsc, err := tlsconfig.Client(tlsconfig.Options{
				CAFile: filepath.Join(certs, "ca.pem"), CertFile: filepath.Join(certs, "cert.pem"), KeyFile: filepath.Join(certs, "key.pem"),
				InsecureSkipVerify: !verify,
			})
			if err != nil {
				return nil, fmt.Errorf("TLS certificates in %s: %w", certs, err)
			}
			opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: tlsc}, CheckRedirect: client.CheckRedirect}))
		}
		u.RawQuery = ""
		return append(opts, client.WithHost(u.String())), nil
	}
	return append(opts, client.WithHost(raw)), nil
}

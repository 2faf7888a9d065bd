package dockerengine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/client"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/runner"
)

func TestParseEndpoint(t *testing.T) {
	for _, c := range []struct {
		in       string
		platform string
		remote   bool
	}{
		{"linux/arm64=ssh://user@arm-host", "linux/arm64", true},
		{"linux/arm64=ssh://user@arm-host:2222/run/user/1000/docker.sock", "linux/arm64", true},
		{"linux/aarch64=tcp://10.0.0.2:2376?certs=/etc/arm-certs", "linux/arm64", true},
		{"linux/amd64=tcp://127.0.0.1:2375?certs=/c&tlsverify=0", "linux/amd64", true},
		{"linux/amd64=unix:///var/run/docker.sock", "linux/amd64", false},
		{"linux/arm=unix:///run/arm.sock", "linux/arm/v7", false},
		{"linux/arm/v7=ssh://pi", "linux/arm/v7", true},
		{"linux/s390x=tcp://z:2375", "linux/s390x", true},
	} {
		ep, err := ParseEndpoint(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if ep.Platform != c.platform || ep.Remote() != c.remote {
			t.Errorf("%s: platform %s remote %v, want %s %v", c.in, ep.Platform, ep.Remote(), c.platform, c.remote)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"linux/arm64", "want PLATFORM=URL"},
		{"=ssh://x", "want PLATFORM=URL"},
		{"windows/amd64=ssh://x", `"windows/amd64" is not a platform of the matrix`},
		{"linux/mips=ssh://x", `"linux/mips" is not a platform`},
		{"linux/arm64=http://x:2375", "want a unix://, tcp:// or ssh:// URL"},
		{"linux/arm64=arm-host", "want a unix://, tcp:// or ssh:// URL"},
		{"linux/arm64=tcp://", "tcp needs host:port"},
		{"linux/arm64=unix://", "needs its path"},
		{"linux/arm64=tcp://x:2376?cert=/c", "unknown option cert"},
		{"linux/arm64=ssh://", "ssh host connection is not valid"},
	} {
		_, err := ParseEndpoint(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "--endpoint ") {
			t.Errorf("%s: err = %v, want --endpoint ... %q", c.in, err, c.want)
		}
	}
	if _, err := ParseEndpoints([]string{"linux/arm64=ssh://a", "linux/aarch64=ssh://b"}); err == nil || !strings.Contains(err.Error(), "linux/arm64 is given twice (ssh://a and ssh://b)") {
		t.Errorf("a platform twice: %v", err)
	}
}

// TestEndpointClients: each scheme gets Docker's own way there: the ssh
// helper's dialer, TLS from the endpoint's certificates (or the
// environment's, as for DOCKER_HOST), a socket.
func TestEndpointClients(t *testing.T) {
	cli := func(url string) (*client.Client, error) {
		t.Helper()
		ep, err := ParseEndpoint("linux/arm64=" + url)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := ep.clientOpts()
		if err != nil {
			return nil, err
		}
		return client.NewClientWithOpts(opts...)
	}
	c, err := cli("ssh://user@arm-host")
	if err != nil || c.DaemonHost() != "http://docker.example.com" {
		t.Errorf("ssh: host %v, %v; want the helper's", c.DaemonHost(), err)
	}
	c, err = cli("tcp://arm-host:2375")
	if err != nil || c.DaemonHost() != "tcp://arm-host:2375" {
		t.Errorf("tcp: %v, %v", c.DaemonHost(), err)
	}
	if _, err := cli("tcp://arm-host:2376?certs=/nonexistent/certs"); err == nil || !strings.Contains(err.Error(), "TLS certificates in /nonexistent/certs") {
		t.Errorf("tcp with missing certificates: %v", err)
	}
	t.Setenv(client.EnvOverrideCertPath, "/nonexistent/env-certs")
	if _, err := cli("tcp://arm-host:2376"); err == nil || !strings.Contains(err.Error(), "/nonexistent/env-certs") {
		t.Errorf("tcp takes DOCKER_CERT_PATH as DOCKER_HOST would: %v", err)
	}
	c, err = cli("unix:///run/arm.sock")
	if err != nil || c.DaemonHost() != "unix:///run/arm.sock" {
		t.Errorf("unix: %v, %v", c.DaemonHost(), err)
	}
}

// TestUnreachableEndpointLosesOnlyItsCells: a fleet whose arm64 endpoint
// does not answer starts the amd64 cell on its daemon and reports the
// arm64 cell runtime-lost, in one line naming the endpoint.
func TestUnreachableEndpointLosesOnlyItsCells(t *testing.T) {
	ep, err := ParseEndpoint("linux/arm64=tcp://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), Options{Endpoint: ep})
	if !errors.Is(err, runner.ErrRuntimeLost) || !strings.HasPrefix(err.Error(), "endpoint linux/arm64=tcp://127.0.0.1:1: cannot reach the daemon: ") {
		t.Fatalf("New: %v", err)
	}
	f := &Fleet{members: map[string]*member{ep.Platform: {ep: ep, err: err}}, runID: "r"}
	amd := &fakeRuntime{}
	res := runner.Run(context.Background(), routeTo(f, amd), []job.Spec{
		{Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}, Platform: "linux/amd64", Steps: []job.Step{{Name: job.StepTest}}},
		{Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}, Platform: "linux/arm64", Steps: []job.Step{{Name: job.StepTest}}},
	}, runner.Options{})
	if res[0].Status != job.StatusPassed {
		t.Errorf("amd64 cell: %s %q", res[0].Status, res[0].Message)
	}
	if res[1].Status != job.StatusRuntimeLost || !strings.HasPrefix(res[1].Message, "endpoint linux/arm64=tcp://127.0.0.1:1: cannot reach the daemon") || strings.Contains(res[1].Message, "\n") {
		t.Errorf("arm64 cell: %s %q", res[1].Status, res[1].Message)
	}
	tr := f.Traits().For("linux/arm64")
	if tr.Endpoint != "tcp://127.0.0.1:1" || tr.EndpointLost == "" {
		t.Errorf("traits of the lost endpoint: %+v", tr)
	}
	s, err := policies.Plan(matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}, matrix.Builtin(), policies.Options{}, f.Traits())
	if err != nil {
		t.Fatal(err)
	}
	if d := decisionOf(s, policies.IDEndpoint); d == nil || !strings.Contains(d.Reason, "unreachable (endpoint linux/arm64=tcp://127.0.0.1:1: cannot reach the daemon") {
		t.Errorf("plan of the lost endpoint's cell: %+v", d)
	}
}

func decisionOf(s job.Spec, id string) *job.Decision {
	for _, d := range s.Decisions {
		if d.Policy == id {
			return &d
		}
	}
	return nil
}

// routeTo is the fleet with its default daemon replaced by rt.
type fleetWithDefault struct {
	f  *Fleet
	rt runner.Runtime
}

func routeTo(f *Fleet, rt runner.Runtime) runner.Runtime { return fleetWithDefault{f, rt} }

func (r fleetWithDefault) Name() string { return "docker" }
func (r fleetWithDefault) Start(ctx context.Context, s job.Spec) (runner.Cell, error) {
	if _, ok := r.f.members[s.Platform]; ok {
		return r.f.Start(ctx, s)
	}
	return r.rt.Start(ctx, s)
}

type fakeRuntime struct{}

func (fakeRuntime) Name() string { return "fake" }
func (fakeRuntime) Start(context.Context, job.Spec) (runner.Cell, error) {
	return fakeCell{}, nil
}

type fakeCell struct{}

func (fakeCell) Exec(_ context.Context, st job.Step) job.StepResult {
	return job.StepResult{Name: st.Name, Stdout: `{"Action":"pass","Package":"p"}` + "\n"}
}
func (fakeCell) PlatformDigest() string { return "" }
func (fakeCell) Close() error           { return nil }

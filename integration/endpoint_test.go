package integration

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// forwarder is another way to the daemon's unix socket (a tcp:// endpoint
// on loopback, or a unix socket of its own), which cut() takes away as a
// network would (listener and every connection closed).
type forwarder struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// forward is a tcp:// endpoint on loopback for the daemon's socket.
func forward(t *testing.T, socket string) *forwarder {
	return forwardFrom(t, "tcp", "127.0.0.1:0", socket)
}

// forwardFrom listens on network and addr and forwards each connection to
// the daemon's socket, half-closing like the two ends would: the attach
// stream ends with the daemon's side of the connection.
func forwardFrom(t *testing.T, network, addr, socket string) *forwarder {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln}
	closeWrite := func(c net.Conn) {
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("unix", socket)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, d)
			f.mu.Unlock()
			go func() { io.Copy(d, c); closeWrite(d) }()
			go func() { io.Copy(c, d); closeWrite(c) }()
		}
	}()
	t.Cleanup(f.cut)
	return f
}

func (f *forwarder) url() string { return f.ln.Addr().Network() + "://" + f.ln.Addr().String() }

func (f *forwarder) cut() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

// placed records, from the daemon's own events, which endpoint's engine
// created each container of a run: cell key -> step -> endpoints.
type placed struct {
	mu  sync.Mutex
	got map[string]map[string][]string
}

func watchCreates(t *testing.T, ctx context.Context, eng *dockerengine.Engine, runID string) *placed {
	p := &placed{got: map[string]map[string][]string{}}
	msgs, errs := eng.Client().Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("event", "create"), filters.Arg("label", dockerengine.LabelRun+"="+runID))})
	go func() {
		for {
			select {
			case m := <-msgs:
				a := m.Actor.Attributes
				p.mu.Lock()
				if p.got[a[dockerengine.LabelCell]] == nil {
					p.got[a[dockerengine.LabelCell]] = map[string][]string{}
				}
				p.got[a[dockerengine.LabelCell]][a[dockerengine.LabelStep]] = append(p.got[a[dockerengine.LabelCell]][a[dockerengine.LabelStep]], a[dockerengine.LabelEndpoint])
				p.mu.Unlock()
			case <-errs:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// removeRun removes what a run left on the daemon: its containers and its
// volumes of copies (a lost endpoint's engine could not).
func removeRun(t *testing.T, eng *dockerengine.Engine, runID string) {
	ctx := context.Background()
	own := filters.NewArgs(filters.Arg("label", dockerengine.LabelRun+"="+runID))
	list, _ := eng.Client().ContainerList(ctx, container.ListOptions{All: true, Filters: own})
	for _, c := range list {
		eng.Client().ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
	vols, _ := eng.Client().VolumeList(ctx, volume.ListOptions{Filters: own})
	for _, v := range vols.Volumes {
		eng.Client().VolumeRemove(ctx, v.Name, true)
	}
}

// TestEndpoints runs one pipeline over two endpoints of the same daemon:
// linux/amd64 through its unix socket, the other platform (386, natively,
// where the kernel runs 32-bit x86 programs; else arm64 under qemu, about
// 5 minutes more) through tcp on loopback (a forwarder this test starts).
// Each cell is planned for its endpoint's machine and placed there,
// re-runs included, as the daemon's own events show; the tcp endpoint,
// which may be another machine, gets the source (and the CA bundle) as
// copies in volumes, removed at the end. Then, in a second run, cutting
// the tcp endpoint while its cell runs loses that cell alone:
// runtime-lost, naming the endpoint; the amd64 cell's results stay.
func TestEndpoints(t *testing.T) {
	h := env(t)
	other := matrix.I386
	if !h.i386 {
		if !h.arm64 {
			t.Skip("neither 386 nor arm64 cells run on this machine")
		}
		other = matrix.ARM64
	}
	otherCell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: other}
	t.Logf("the tcp endpoint runs %s", otherCell.Platform())
	dir, err := filepath.Abs("../testdata/endpoints")
	if err != nil {
		t.Fatal(err)
	}
	real := h.engine(t, dir)
	socket := strings.TrimPrefix(real.Client().DaemonHost(), "unix://")
	if socket == real.Client().DaemonHost() {
		t.Fatalf("the daemon is not on a unix socket: %s", real.Client().DaemonHost())
	}
	cacheScope := scope(t, real)
	amd, arm := "go1.26.8/glibc/amd64", otherCell.String()
	base := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64", string(other)}, CacheScope: cacheScope, Reruns: 2, ReRunsMax: 10, Explain: "off"}

	run := func(t *testing.T, req pipeline.Request, fwd *forwarder, opt runner.Options) (report.Report, pipeline.Plan, *dockerengine.Fleet, *placed) {
		t.Helper()
		eps, err := dockerengine.ParseEndpoints([]string{"linux/amd64=unix://" + socket, otherCell.Platform() + "=" + fwd.url()})
		if err != nil {
			t.Fatal(err)
		}
		fleet, err := dockerengine.NewFleet(context.Background(), dockerengine.Options{SourceDir: dir, Logf: t.Logf}, eps, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeRun(t, real, fleet.RunID()) })
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		seen := watchCreates(t, ctx, real, fleet.RunID())
		t.Logf("run %s", fleet.RunID())
		rep, plan := h.runIn(t, context.Background(), fleet, dir, req, opt)
		fleet.Close()
		time.Sleep(time.Second) // the last events
		return rep, plan, fleet, seen
	}

	t.Run("placed by platform", func(t *testing.T) {
		fwd := forward(t, socket)
		req := base
		req.Packages = []string{"./arch"}
		rep, plan, fleet, seen := run(t, req, fwd, runner.Options{})
		armEP, amdEP := otherCell.Platform()+"="+fwd.url(), "linux/amd64=unix://"+socket

		// Planned for the machine behind each endpoint: the tcp one is
		// this amd64 host too, so arm64 is emulated there and 386 a 32-bit
		// userland, neither with -race.
		for _, s := range plan.Specs {
			d := decisionIn(s.Decisions, policies.IDEndpoint)
			src := decisionIn(s.Decisions, policies.IDSource)
			switch s.Cell.String() {
			case amd:
				if d == nil || d.Effect != "unix://"+socket || !s.Race || !strings.Contains(src.Reason, "mounted read-only at /src") {
					t.Errorf("amd64 plan: endpoint %+v, race %v, source %q", d, s.Race, src.Reason)
				}
			case arm:
				emu := map[matrix.Arch]string{matrix.ARM64: "qemu", matrix.I386: "native"}[other]
				if d == nil || d.Effect != fwd.url() || !strings.Contains(d.Reason, "its machine: amd64") || s.Race || decisionIn(s.Decisions, policies.IDEmulation).Effect != emu || !strings.Contains(src.Reason, "copied through the Engine API into a volume of the daemon at "+fwd.url()) {
					t.Errorf("%s plan: endpoint %+v, race %v, source %q", arm, d, s.Race, src.Reason)
				}
			}
		}

		// The tcp endpoint's cell ran (its probe proved /src read-only on
		// the copy) and diverged: each cell re-ran the test until the
		// counts decided it.
		for _, c := range rep.Cells {
			t.Logf("%s: %s %q", c.Name, c.Status, c.Message)
			if c.Status != job.StatusFailed && c.Status != job.StatusPassed {
				t.Fatalf("cell %s: %s %q", c.Name, c.Status, c.Message)
			}
		}
		var row *report.TestRow
		for i := range rep.Tests {
			if rep.Tests[i].Test == "TestRunsOnAMD64" {
				row = &rep.Tests[i]
			}
		}
		if row == nil || !row.Divergent {
			t.Fatalf("TestRunsOnAMD64 did not diverge: %+v", row)
		}
		for cell, want := range map[string]testjson.Outcome{amd: testjson.Pass, arm: testjson.Fail} {
			r, ok := row.Result(cell)
			alone := 0
			for _, rr := range r.Reruns {
				if rr.Kind == report.RunAlone && rr.Outcome == want {
					alone++
				}
			}
			if !ok || r.Outcome != want || alone == 0 {
				t.Errorf("%s: %+v, want %s and re-runs alone that %s", cell, r, want, want)
			}
		}

		// Where the daemon says each container came from.
		seen.mu.Lock()
		defer seen.mu.Unlock()
		for key, ep := range map[string]string{matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}.Key(): amdEP, otherCell.Key(): armEP} {
			steps := seen.got[key]
			for step, eps := range steps {
				for _, got := range eps {
					if got != ep {
						t.Errorf("%s %s: a container made through %q, want %q", key, step, got, ep)
					}
				}
			}
			if n := len(steps["test"]); n < 2 {
				t.Errorf("%s: %d test containers, want the first run and its re-runs: %v", key, n, steps)
			}
		}
		if copies := seen.got[""]["delivery"]; len(copies) == 0 || copies[0] != armEP {
			t.Errorf("containers that filled the copies: %v, want made through %s", copies, armEP)
		}
		// Closing the fleet removed the copies.
		vols, err := real.Client().VolumeList(context.Background(), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", dockerengine.LabelRun+"="+fleet.RunID()))})
		if err != nil || len(vols.Volumes) != 0 {
			t.Errorf("volumes of copies left: %v %v", vols.Volumes, err)
		}
	})

	t.Run("a lost endpoint loses its cells only", func(t *testing.T) {
		fwd := forward(t, socket)
		var once sync.Once
		cut := runner.Options{OnEvent: func(e runner.Event) {
			if e.Cell == arm && e.Kind == runner.EventStepStart && e.Step == job.StepTest {
				once.Do(func() { time.AfterFunc(time.Second, fwd.cut) })
			}
		}}
		// Its test step sleeps 30 s there (count 1: never a cached result).
		req := base
		req.Count = 1
		rep, _, _, _ := run(t, req, fwd, cut)
		cells := map[string]report.Cell{}
		for _, c := range rep.Cells {
			cells[c.Name] = c
			t.Logf("%s: %s %q", c.Name, c.Status, c.Message)
		}
		a := cells[arm]
		if a.Status != job.StatusRuntimeLost || !strings.Contains(a.Message, "endpoint "+otherCell.Platform()+"="+fwd.url()) || strings.Contains(a.Message, "\n") {
			t.Errorf("%s cell: %s %q, want runtime-lost naming the endpoint in one line", arm, a.Status, a.Message)
		}
		if x := cells[amd]; x.Status != job.StatusPassed || x.Counts.Pass != 3 {
			t.Errorf("amd64 cell: %s %+v, want its three tests passed", x.Status, x.Counts)
		}
		if len(rep.Divergences) != 0 {
			t.Errorf("a lost cell is compared: %+v", rep.Divergences)
		}
	})
}

func decisionIn(ds []job.Decision, id string) *job.Decision {
	for _, d := range ds {
		if d.Policy == id {
			return &d
		}
	}
	return &job.Decision{}
}

// TestRemoteEndpointGetsCopies: a tcp endpoint (another machine, for all
// Parity knows) cannot bind this host's files: the source reaches it as a
// read-only copy (symlinks kept, contents whole), the CA bundle as a file
// the deps step alone sees, a directory of another image as a read-only
// copy made on that daemon; every copy is gone when the engine closes.
func TestRemoteEndpointGetsCopies(t *testing.T) {
	h := env(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/copied\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from this host\n"), 0o644)
	os.Symlink("hello.txt", filepath.Join(dir, "link"))
	os.Chmod(dir, 0o755)
	real := h.engine(t, dir)
	socket := strings.TrimPrefix(real.Client().DaemonHost(), "unix://")
	fwd := forward(t, socket)
	ep, err := dockerengine.ParseEndpoint("linux/amd64=" + fwd.url())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := dockerengine.New(context.Background(), dockerengine.Options{SourceDir: dir, Endpoint: ep, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeRun(t, real, eng.RunID()) })
	in, err := pipeline.Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64"}, CacheScope: scope(t, real)}.Inputs([]byte("module example.com/copied\n\ngo 1.26\n"), h.lock, "test lock")
	if err != nil {
		t.Fatal(err)
	}
	in.Policy = depsPolicy(in.Policy)
	if in.Policy.CABundle == "" {
		t.Fatal("no CA bundle on this host to copy")
	}
	plan, err := pipeline.MakePlan(in, eng.Traits())
	if err != nil {
		t.Fatal(err)
	}
	s := plan.Specs[0]
	s.Mounts = append(s.Mounts, job.Mount{Kind: job.MountImagePath, Image: s.Image, Platform: s.Platform, Path: "/usr/local/go/lib/time", Dir: true, Target: "/opt/borrowed", ReadOnly: true, Steps: []job.StepName{job.StepTest}})
	for i, st := range s.Steps {
		switch st.Name {
		case job.StepDeps:
			s.Steps[i].Args = []string{"sh", "-c", `grep -c "BEGIN CERTIFICATE" "$SSL_CERT_FILE"`}
		case job.StepTest:
			s.Steps[i].Args = []string{"sh", "-c", `cat /src/hello.txt; readlink /src/link; touch /src/new 2>/dev/null || echo "source read-only"; ls /opt/borrowed; test -e /etc/parity/ca-certificates.crt || echo "no CA bundle in tests"`}
		}
	}
	res := runner.Run(context.Background(), eng, []job.Spec{s}, runner.Options{})[0]
	if res.Status != job.StatusPassed {
		t.Fatalf("%s %q: %+v", res.Status, res.Message, res.Steps)
	}
	deps, _ := res.Step(job.StepDeps)
	test, _ := res.Step(job.StepTest)
	t.Logf("deps: %q; test: %q", deps.Stdout, test.Stdout)
	if n := strings.TrimSpace(deps.Stdout); n == "" || n == "0" {
		t.Errorf("the deps step's CA bundle holds %q certificates", n)
	}
	for _, want := range []string{"hello from this host\n", "hello.txt\n", "source read-only\n", "zoneinfo.zip\n", "no CA bundle in tests\n"} {
		if !strings.Contains(test.Stdout, want) {
			t.Errorf("test step printed %q, want %q in it", test.Stdout, want)
		}
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	vols, err := real.Client().VolumeList(context.Background(), volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", dockerengine.LabelRun+"="+eng.RunID()))})
	if err != nil || len(vols.Volumes) != 0 {
		t.Errorf("copies left after Close: %v %v", vols.Volumes, err)
	}
}

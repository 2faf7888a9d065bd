package dockerengine

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/mount"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
)

// TestRemoteDaemonMountsCopies: on a remote daemon no step binds a path of
// this host: the source is its volume, read-only; the CA bundle (deps
// only) and go.mod/go.sum over a writable copy are files of volumes,
// read-only, by subpath where the API has it.
func TestRemoteDaemonMountsCopies(t *testing.T) {
	s := planCell(t, policies.Options{CABundle: "/host/ca.crt", SourceMode: policies.SourceCopy})
	src := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := os.WriteFile(filepath.Join(src, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range s.Mounts {
		if s.Mounts[i].Kind == job.MountFile {
			s.Mounts[i].Name = "vol-ca" // as deliver names it
		}
	}
	for _, subpaths := range []bool{true, false} {
		sent := &delivered{source: "vol-src", subpaths: subpaths}
		for _, st := range s.Steps {
			if st.Root {
				continue
			}
			_, hc, err := containerConfig(s, st, "img", src, own, testViews(s), sent)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range hc.Mounts {
				if m.Type == mount.TypeBind {
					t.Errorf("%s: binds %s from this host", st.Name, m.Source)
				}
			}
			mounts := map[string]mount.Mount{}
			for _, m := range hc.Mounts {
				mounts[m.Target] = m
			}
			if m := mounts["/src"]; m.Source != "vol-src" || !m.ReadOnly || m.Type != mount.TypeVolume || m.VolumeOptions.Subpath != "" {
				t.Errorf("%s: /src is %+v", st.Name, m)
			}
			ca, dir := mounts[policies.CABundleAt], mounts["/etc/parity"]
			switch {
			case st.Name != job.StepDeps:
				if ca.Source != "" || dir.Source != "" {
					t.Errorf("%s sees the CA bundle", st.Name)
				}
			case subpaths && (ca.Source != "vol-ca" || ca.VolumeOptions.Subpath != "ca-certificates.crt" || !ca.ReadOnly):
				t.Errorf("deps: CA bundle %+v", ca)
			case !subpaths && (dir.Source != "vol-ca" || !dir.ReadOnly):
				t.Errorf("deps without subpaths: /etc/parity %+v", dir)
			}
			if st.Name == job.StepTest && subpaths {
				for _, f := range []string{"go.mod", "go.sum"} {
					m := mounts[policies.CopyDir+"/"+f]
					if m.Source != "vol-src" || m.VolumeOptions.Subpath != f || !m.ReadOnly {
						t.Errorf("test: %s over the copy is %+v", f, m)
					}
				}
			}
		}
	}
	// Without subpaths a remote daemon cannot keep go.mod read-only over
	// the copy: refused before anything is copied.
	e := &Engine{remote: true, ep: Endpoint{Platform: "linux/arm64", URL: "ssh://arm"}}
	e.cli = nil
	if err := e.deliverableAt(s, "1.41"); err == nil || !strings.Contains(err.Error(), "endpoint linux/arm64=ssh://arm: --source-mode=copy") || !strings.Contains(err.Error(), "it speaks 1.41") {
		t.Errorf("copy mode without subpaths: %v", err)
	}
	file := job.Spec{Mounts: []job.Mount{{Kind: job.MountImagePath, Path: "/etc/mime.types", Target: "/etc/mime.types"}}}
	if err := e.deliverableAt(file, "1.41"); err == nil || !strings.Contains(err.Error(), "the file /etc/mime.types of another image") {
		t.Errorf("a file of another image without subpaths: %v", err)
	}
	dir := job.Spec{Mounts: []job.Mount{{Kind: job.MountImagePath, Path: "/usr/share/zoneinfo", Target: "/usr/share/zoneinfo", Dir: true, Name: "vol-zi"}}}
	if err := e.deliverableAt(dir, "1.41"); err != nil {
		t.Errorf("a directory of another image: %v", err)
	}
	dir.Steps = []job.Step{{Name: job.StepTest}}
	_, hc, err := containerConfig(dir, dir.Steps[0], "img", src, own, nil, &delivered{source: "vol-src"})
	if err != nil || len(hc.Mounts) != 1 || hc.Mounts[0].Source != "vol-zi" || hc.Mounts[0].Target != "/usr/share/zoneinfo" || !hc.Mounts[0].ReadOnly {
		t.Errorf("zoneinfo from another image: %+v %v", hc.Mounts, err)
	}
}

func readTar(t *testing.T, b []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		h.PAXRecords = map[string]string{"body": string(body)}
		out[h.Name] = h
	}
}

// TestTarTreeIsWhatABindShows: modes and symlinks as they are, owned by
// root, no socket.
func TestTarTreeIsWhatABindShows(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pkg", "testdata"), 0o755)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module m\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pkg", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("../go.mod", filepath.Join(dir, "pkg", "link"))
	os.Symlink("/etc/passwd", filepath.Join(dir, "pkg", "testdata", "abs"))
	if l, err := net.Listen("unix", filepath.Join(dir, "sock")); err == nil {
		defer l.Close()
	}
	var b bytes.Buffer
	if err := tarTree(&b, dir); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, b.Bytes())
	var names []string
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"go.mod", "pkg/", "pkg/link", "pkg/run.sh", "pkg/testdata/", "pkg/testdata/abs"}; !slices.Equal(names, want) {
		t.Fatalf("entries %v, want %v", names, want)
	}
	if h := got["pkg/run.sh"]; h.Mode&0o777 != 0o755 || h.Uid != 0 || h.PAXRecords["body"] != "#!/bin/sh\n" {
		t.Errorf("run.sh: mode %o uid %d body %q", h.Mode, h.Uid, h.PAXRecords["body"])
	}
	if h := got["pkg/link"]; h.Typeflag != tar.TypeSymlink || h.Linkname != "../go.mod" {
		t.Errorf("link: %+v", h)
	}
	if h := got["pkg/testdata/abs"]; h.Typeflag != tar.TypeSymlink || h.Linkname != "/etc/passwd" {
		t.Errorf("an absolute symlink is kept as one (the container resolves it): %+v", h)
	}
}

// TestRetar: the archive API's tar of a path becomes the volume's
// content: a directory's entries at the root, a file under its name.
func TestRetar(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	for _, e := range []struct{ name, body string }{{"zoneinfo/", ""}, {"zoneinfo/UTC", "utc"}, {"zoneinfo/Europe/", ""}, {"zoneinfo/Europe/Paris", "paris"}} {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		tw.WriteHeader(h)
		tw.Write([]byte(e.body))
	}
	tw.Close()
	var out bytes.Buffer
	if err := retar(&out, bytes.NewReader(in.Bytes()), "zoneinfo", true, "zoneinfo"); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, out.Bytes())
	if len(got) != 3 || got["UTC"].PAXRecords["body"] != "utc" || got["Europe/Paris"].PAXRecords["body"] != "paris" || got["Europe/"] == nil {
		t.Errorf("directory: %v", got)
	}

	in.Reset()
	tw = tar.NewWriter(&in)
	tw.WriteHeader(&tar.Header{Name: "mime.types", Mode: 0o644, Size: 3, Typeflag: tar.TypeReg})
	tw.Write([]byte("a b"))
	tw.Close()
	out.Reset()
	if err := retar(&out, bytes.NewReader(in.Bytes()), "mime.types", false, "types"); err != nil {
		t.Fatal(err)
	}
	if got := readTar(t, out.Bytes()); len(got) != 1 || got["types"].PAXRecords["body"] != "a b" {
		t.Errorf("file: %v", got)
	}
}

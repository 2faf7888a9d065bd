package dockerengine

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/mount"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
)

func TestImagePathMountIsAReadOnlyBindOfTheCopy(t *testing.T) {
	s := planCell(t, policies.Options{})
	s.Mounts = append(s.Mounts, job.Mount{Kind: job.MountImagePath, Image: "golang@sha256:x", Platform: "linux/amd64",
		Path: "/usr/bin/bash", Target: "/usr/local/bin/bash", ReadOnly: true, HostPath: "/tmp/parity-image-path-1/bash"})
	test := s.Steps[len(s.Steps)-1]
	_, hc := mustConfig(t, s, test, "img", "/src")
	want := mount.Mount{Type: mount.TypeBind, Source: "/tmp/parity-image-path-1/bash", Target: "/usr/local/bin/bash", ReadOnly: true}
	if !slices.ContainsFunc(hc.Mounts, func(m mount.Mount) bool {
		return m.Type == want.Type && m.Source == want.Source && m.Target == want.Target && m.ReadOnly
	}) {
		t.Fatalf("mounts %+v lack %+v", hc.Mounts, want)
	}
}

func tarOf(t *testing.T, entries ...*tar.Header) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(h.Name))
		}
	}
	tw.Close()
	return &b
}

func TestExtractKeepsTheCopyInsideAndReadable(t *testing.T) {
	root := t.TempDir()
	err := extract(tarOf(t,
		&tar.Header{Name: "zoneinfo/", Typeflag: tar.TypeDir, Mode: 0o700},
		&tar.Header{Name: "zoneinfo/UTC", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "zoneinfo/Zulu", Typeflag: tar.TypeSymlink, Linkname: "UTC"},
		&tar.Header{Name: "zoneinfo/Etc", Typeflag: tar.TypeLink, Linkname: "zoneinfo/UTC"},
	), root)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(root, "zoneinfo/UTC"))
	if err != nil || st.Mode().Perm()&0o444 != 0o444 {
		t.Fatalf("UTC: %v %v: the steps' user must read it", st, err)
	}
	if d, _ := os.Stat(filepath.Join(root, "zoneinfo")); d.Mode().Perm() != 0o755 {
		t.Fatalf("dir mode %v", d.Mode())
	}
	if l, _ := os.Readlink(filepath.Join(root, "zoneinfo/Zulu")); l != "UTC" {
		t.Fatalf("symlink = %q", l)
	}
	for _, bad := range []*tar.Header{
		{Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "/etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "x", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"},
	} {
		err := extract(tarOf(t, bad), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("%s (%s): err = %v, want refused", bad.Name, bad.Linkname, err)
		}
	}
}

// A crafted image cannot write outside the copy's directory through a
// symlink it wrote first: d -> the outside, then d/x.
func TestExtractDoesNotFollowSymlinksOut(t *testing.T) {
	outside := t.TempDir()
	for name, entries := range map[string][]*tar.Header{
		"absolute link": {
			{Name: "d", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "d/x", Typeflag: tar.TypeReg, Mode: 0o644},
		},
		"relative link": {
			{Name: "sub/", Typeflag: tar.TypeDir, Mode: 0o755},
			{Name: "sub/d", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../../../../.." + outside},
			{Name: "sub/d/x", Typeflag: tar.TypeReg, Mode: 0o644},
		},
		"file over a link": {
			{Name: "x", Typeflag: tar.TypeSymlink, Linkname: filepath.Join(outside, "x")},
			{Name: "x", Typeflag: tar.TypeReg, Mode: 0o644},
		},
		"dir under a link": {
			{Name: "d", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "d/x/", Typeflag: tar.TypeDir, Mode: 0o755},
		},
		"hard link through a link": {
			{Name: "d", Typeflag: tar.TypeSymlink, Linkname: outside},
			{Name: "y", Typeflag: tar.TypeReg, Mode: 0o644},
			{Name: "d/x", Typeflag: tar.TypeLink, Linkname: "y"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := extract(tarOf(t, entries...), t.TempDir())
			if err == nil {
				t.Error("extracted")
			}
			if left, _ := os.ReadDir(outside); len(left) > 0 {
				t.Fatalf("wrote outside its directory: %v", left)
			}
		})
	}
	// A symlink inside the copy still works as a directory to write under.
	root := t.TempDir()
	if err := extract(tarOf(t,
		&tar.Header{Name: "real/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "alias", Typeflag: tar.TypeSymlink, Linkname: "real"},
		&tar.Header{Name: "alias/f", Typeflag: tar.TypeReg, Mode: 0o644},
	), root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "real", "f")); err != nil {
		t.Fatal(err)
	}
}

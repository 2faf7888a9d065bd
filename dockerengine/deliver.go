package dockerengine

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/parity-ci/parity/job"
)

// A remote daemon cannot bind-mount this host's files: what a cell mounts
// from here (the source, the CA bundle) and what the local engine copies
// out of other images to bind (experiments' files) reach it instead as
// copies in volumes of its own, filled through the Engine API (a tar
// streamed into a container that never starts), made once per run and
// removed when the engine closes. Steps mount them read-only; one file of
// a volume is mounted alone by subpath (API 1.45+).

// LabelDelivery marks the volumes holding a run's copies of this host's
// files on a remote daemon (the value is what they hold).
const LabelDelivery = "dev.parity.delivery"

// deliverDir is where a filling container mounts the volume it fills.
const deliverDir = "/parity-deliver"

// etcParity is Parity's own directory in the cells: a volume may be
// mounted over it whole (the CA bundle without subpaths).
const etcParity = "/etc/parity"

// deliveries are the volumes made on this engine's daemon, by what they
// hold; each is made once.
type deliveries struct {
	mu      sync.Mutex
	volumes map[string]string // key ("source", "file:<path>", "image:<ref>|<platform>|<path>") -> volume
	order   []string          // volumes to remove, in order made
}

// delivered is what a cell's containers mount instead of this host's
// files: the source's volume, and whether the daemon mounts one file of a
// volume (subpath). Image-path and file mounts carry their volume in
// job.Mount.Name.
type delivered struct {
	source   string
	subpaths bool
}

// dir mounts a whole volume at target.
func (d *delivered) dir(vol, target string, ro bool) mount.Mount {
	return mount.Mount{Type: mount.TypeVolume, Source: vol, Target: target, ReadOnly: ro, VolumeOptions: &mount.VolumeOptions{NoCopy: true}}
}

// file mounts the file name of a volume at target, read-only: by subpath,
// else (deliverable allows it only there) the whole volume over target's
// directory, Parity's own.
func (d *delivered) file(vol, name, target string) mount.Mount {
	if !d.subpaths {
		return d.dir(vol, path.Dir(target), true)
	}
	m := d.dir(vol, target, true)
	m.VolumeOptions.Subpath = name
	return m
}

// deliverable refuses, before anything is copied, what the remote daemon
// could only mount as a bind of this host's files: one file at a path of
// the image, without volume subpaths.
func (e *Engine) deliverable(s job.Spec) error {
	if !e.remote {
		return nil
	}
	return e.deliverableAt(s, e.cli.ClientVersion())
}

// deliverableAt is deliverable for a daemon of Engine API version v.
func (e *Engine) deliverableAt(s job.Spec, v string) error {
	if !versions.LessThan(v, SubpathAPIVersion) {
		return nil
	}
	for _, m := range s.Mounts {
		switch {
		case m.Kind == job.MountSourceCopy:
			return fmt.Errorf("endpoint %s: --source-mode=copy keeps go.mod and go.sum read-only by mounting single files, which a remote daemon can do only from Engine API %s (Docker 26); it speaks %s", e.ep, SubpathAPIVersion, v)
		case m.Kind == job.MountFile && path.Dir(m.Target) != etcParity:
			return fmt.Errorf("endpoint %s: cannot mount %s alone without Engine API %s (Docker 26); it speaks %s", e.ep, m.Target, SubpathAPIVersion, v)
		case m.Kind == job.MountImagePath && !m.Dir:
			return fmt.Errorf("endpoint %s: mounting the file %s of another image needs Engine API %s (Docker 26); it speaks %s", e.ep, m.Path, SubpathAPIVersion, v)
		}
	}
	return nil
}

// deliver copies what the spec mounts from this host into volumes of the
// daemon (once per run) and returns where they are; image is one the
// daemon holds, for the filling container. Image-path mounts were made by
// withImagePaths.
func (e *Engine) deliver(ctx context.Context, s job.Spec, image string) (*delivered, job.Spec, error) {
	d := &delivered{subpaths: e.subpaths}
	s.Mounts = append([]job.Mount(nil), s.Mounts...)
	for i, m := range s.Mounts {
		var err error
		switch m.Kind {
		case job.MountSource:
			d.source, err = e.volumeOnce(ctx, "source", func(vol string) error {
				return e.fill(ctx, vol, image, s.Platform, func(w io.Writer) error { return tarTree(w, e.opt.SourceDir) })
			})
		case job.MountFile:
			s.Mounts[i].Name, err = e.volumeOnce(ctx, "file:"+m.HostPath, func(vol string) error {
				return e.fill(ctx, vol, image, s.Platform, func(w io.Writer) error { return tarFile(w, m.HostPath, path.Base(m.Target)) })
			})
		}
		if err != nil {
			return nil, s, fmt.Errorf("endpoint %s: copying %s to the daemon: %w", e.ep, m.Kind, err)
		}
	}
	return d, s, nil
}

// volumeOnce returns the volume holding key, making and filling it the
// first time. A failed fill leaves nothing: the next cell tries again.
func (e *Engine) volumeOnce(ctx context.Context, key string, fill func(vol string) error) (string, error) {
	e.sent.mu.Lock()
	defer e.sent.mu.Unlock()
	if v, ok := e.sent.volumes[key]; ok {
		return v, nil
	}
	h := sha256.Sum256([]byte(e.ep.String() + "\n" + key))
	vol := fmt.Sprintf("parity-copy-%s-%s", e.runID, hex.EncodeToString(h[:6]))
	labels := e.owner().labels("", "delivery")
	labels[LabelDelivery] = strings.SplitN(key, ":", 2)[0]
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: vol, Labels: labels}); err != nil {
		return "", err
	}
	if err := fill(vol); err != nil {
		e.removeVolume(vol)
		return "", err
	}
	if e.sent.volumes == nil {
		e.sent.volumes = map[string]string{}
	}
	e.sent.volumes[key] = vol
	e.sent.order = append(e.sent.order, vol)
	return vol, nil
}

// fill streams a tar into a volume through a container of image that
// never starts: the daemon extracts it into the mounted volume.
func (e *Engine) fill(ctx context.Context, vol, image, platform string, write func(io.Writer) error) error {
	id, err := e.holder(ctx, vol, image, platform)
	if err != nil {
		return err
	}
	defer e.remove(id)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	err = e.cli.CopyToContainer(ctx, id, deliverDir, pr, container.CopyToContainerOptions{})
	pr.CloseWithError(err) // stops the writer if the copy ended first
	return err
}

// holder creates (never starts) a container of image with vol mounted at
// deliverDir, for the archive API to read from and write into.
func (e *Engine) holder(ctx context.Context, vol, image, platform string) (string, error) {
	osName, arch, _ := strings.Cut(platform, "/")
	created, err := e.cli.ContainerCreate(ctx,
		&container.Config{Image: image, Cmd: []string{"true"}, Labels: e.owner().labels("", "delivery")},
		&container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: deliverDir}}},
		nil, &ocispec.Platform{OS: osName, Architecture: arch}, "")
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	return created.ID, nil
}

// imagePathVolume is copyImagePath for a remote daemon: the path is copied
// out of the other image into a volume of the same daemon, the image's
// container itself holding the volume: a directory's content at the
// volume's root, a file under its own name. Nothing passes through this
// host's disk.
func (e *Engine) imagePathVolume(ctx context.Context, m job.Mount, img resolvedImage) (string, error) {
	return e.volumeOnce(ctx, "image:"+m.Image+"|"+m.Platform+"|"+m.Path, func(vol string) error {
		id, err := e.holder(ctx, vol, img.id, m.Platform)
		if err != nil {
			return err
		}
		defer e.remove(id)
		rc, stat, err := e.cli.CopyFromContainer(ctx, id, m.Path)
		if client.IsErrNotFound(err) {
			return errors.New("not in that image")
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		if err := checkPathStat(stat, m); err != nil {
			return err
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(retar(pw, rc, stat.Name, m.Dir, path.Base(m.Target))) }()
		err = e.cli.CopyToContainer(ctx, id, deliverDir, pr, container.CopyToContainerOptions{})
		pr.CloseWithError(err)
		return err
	})
}

// retar rewrites the archive API's tar of one path (entries under base):
// a directory's entries at the root, a file renamed to name.
func retar(w io.Writer, r io.Reader, base string, dir bool, name string) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(h.Name, base), "/")
		switch {
		case !dir:
			h.Name = name
		case rel == "":
			continue // the directory itself: the volume's root
		default:
			h.Name = rel
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// tarTree writes dir's tree as a tar, as a bind mount would show it: modes
// kept, symlinks as symlinks (the container resolves them), owned by root;
// sockets, pipes and devices left out.
func tarTree(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case !info.Mode().IsRegular() && !info.IsDir():
			return nil
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	return tw.Close()
}

// tarFile writes one host file as name, readable by the cells' user.
func tarFile(w io.Writer, hostPath, name string) error {
	b, err := os.ReadFile(hostPath)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	return tw.Close()
}

// removeDeliveries removes the run's volumes of copies; called when the
// engine closes, after the containers that used them are gone.
func (e *Engine) removeDeliveries(ctx context.Context) error {
	e.sent.mu.Lock()
	defer e.sent.mu.Unlock()
	var errs []error
	for _, v := range e.sent.order {
		if err := e.cli.VolumeRemove(ctx, v, true); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("volume %s: %w", v, err))
		}
	}
	e.sent.order, e.sent.volumes = nil, nil
	return errors.Join(errs...)
}

func (e *Engine) removeVolume(vol string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.cli.VolumeRemove(ctx, vol, true); err != nil && !client.IsErrNotFound(err) {
		e.opt.Logf("remove volume %s: %v", vol, err)
	}
}

// staleDeliveries removes the volumes of copies that dead runs of this
// host left on the daemon (a run cut off from it could not).
func (e *Engine) staleDeliveries(ctx context.Context) ([]string, error) {
	vols, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelDelivery))})
	if err != nil {
		return nil, fmt.Errorf("docker: list volumes of copies: %w", err)
	}
	var rm []string
	var errs []error
	for _, v := range vols.Volumes {
		if !stale(v.Labels, e.host) {
			continue
		}
		if err := e.cli.VolumeRemove(ctx, v.Name, true); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("volume %s: %w", v.Name, err))
			continue
		}
		rm = append(rm, v.Name)
	}
	return rm, errors.Join(errs...)
}

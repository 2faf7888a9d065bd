package dockerengine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// imagePaths holds what image-path mounts copied out of other images: each
// (image, platform, path) once per Engine, removed when the Engine closes.
type imagePaths struct {
	mu    sync.Mutex
	hosts map[string]string // image|platform|path -> host path
	roots []string          // temp dirs to remove
}

// withImagePaths returns the Spec with every image-path mount's HostPath
// set to a host copy of the path, to be bind-mounted read-only.
func (e *Engine) withImagePaths(ctx context.Context, s job.Spec) (job.Spec, error) {
	if !slices.ContainsFunc(s.Mounts, func(m job.Mount) bool { return m.Kind == job.MountImagePath }) {
		return s, nil
	}
	s.Mounts = slices.Clone(s.Mounts)
	for i, m := range s.Mounts {
		if m.Kind != job.MountImagePath {
			continue
		}
		if e.remote {
			// Copied on the daemon itself, into a volume (deliver.go).
			vol, err := e.remoteImagePath(ctx, m)
			if err != nil {
				return s, fmt.Errorf("docker: %s of %s: %w", m.Path, shortImage(m.Image), err)
			}
			s.Mounts[i].Name = vol
			continue
		}
		host, err := e.copyImagePath(ctx, m)
		if err != nil {
			return s, fmt.Errorf("docker: %s of %s: %w", m.Path, shortImage(m.Image), err)
		}
		s.Mounts[i].HostPath = host
	}
	return s, nil
}

// pathImage pulls and checks the image an image-path mount copies from.
func (e *Engine) pathImage(ctx context.Context, m job.Mount) (resolvedImage, error) {
	_, arch, _ := strings.Cut(m.Platform, "/")
	a, err := matrix.ParseArch(arch)
	if err != nil {
		return resolvedImage{}, err
	}
	return e.ensureImage(ctx, job.Spec{Cell: matrix.Cell{Arch: a}, Image: m.Image, Platform: m.Platform})
}

func (e *Engine) remoteImagePath(ctx context.Context, m job.Mount) (string, error) {
	img, err := e.pathImage(ctx, m)
	if err != nil {
		return "", err
	}
	return e.imagePathVolume(ctx, m, img)
}

// checkPathStat refuses a path that is a symlink in the image (a bind
// would follow it on the host: never), or not the kind the mount expects.
func checkPathStat(stat container.PathStat, m job.Mount) error {
	if stat.Mode&os.ModeSymlink != 0 {
		return fmt.Errorf("is a symlink in the image (to %s)", stat.LinkTarget)
	}
	if stat.Mode.IsDir() != m.Dir {
		return fmt.Errorf("is %s in the image", map[bool]string{true: "a directory", false: "not a directory"}[stat.Mode.IsDir()])
	}
	return nil
}

func (e *Engine) copyImagePath(ctx context.Context, m job.Mount) (string, error) {
	key := m.Image + "|" + m.Platform + "|" + m.Path
	e.paths.mu.Lock()
	defer e.paths.mu.Unlock() // copies are small; one at a time keeps "once" simple
	if host, ok := e.paths.hosts[key]; ok {
		return host, nil
	}
	osName, arch, _ := strings.Cut(m.Platform, "/")
	img, err := e.pathImage(ctx, m)
	if err != nil {
		return "", err
	}
	// A container that never starts: only its filesystem is read.
	created, err := e.cli.ContainerCreate(ctx,
		&container.Config{Image: img.id, Cmd: []string{"true"}, Labels: map[string]string{LabelRun: e.runID, LabelStep: "image-path"}},
		&container.HostConfig{NetworkMode: "none"}, nil, &ocispec.Platform{OS: osName, Architecture: arch}, "")
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.cli.ContainerRemove(rctx, created.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			e.opt.Logf("image-path: removing %s: %v", created.ID[:12], err)
		}
	}()
	rc, stat, err := e.cli.CopyFromContainer(ctx, created.ID, m.Path)
	if client.IsErrNotFound(err) {
		return "", errors.New("not in that image")
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	if err := checkPathStat(stat, m); err != nil {
		return "", err
	}
	root, err := os.MkdirTemp("", "parity-image-path-")
	if err != nil {
		return "", err
	}
	e.paths.roots = append(e.paths.roots, root)
	// The steps' user must read what root extracts here.
	if err := os.Chmod(root, 0o755); err != nil {
		return "", err
	}
	if err := extract(rc, root); err != nil {
		return "", err
	}
	host := filepath.Join(root, stat.Name)
	if e.paths.hosts == nil {
		e.paths.hosts = map[string]string{}
	}
	e.paths.hosts[key] = host
	return host, nil
}

// extract writes a tar stream under root, refusing names that leave it.
// Every write goes through an os.Root, so no entry can reach outside
// root, not even through a symlink an earlier entry made (an entry d ->
// /etc, then d/x). Files stay readable by every user; symlinks are kept as
// they are (the container resolves them, inside its own filesystem).
func extract(r io.Reader, root string) error {
	rt, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer rt.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read copy: %w", err)
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("copy holds %q, outside its directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = mkdirAll(rt, name)
		case tar.TypeReg:
			err = writeFile(rt, name, tr, os.FileMode(h.Mode).Perm()|0o444)
		case tar.TypeSymlink:
			if err = mkdirAll(rt, filepath.Dir(name)); err == nil {
				err = rt.Symlink(h.Linkname, name)
			}
		case tar.TypeLink:
			target := filepath.Clean(filepath.FromSlash(h.Linkname))
			if !filepath.IsLocal(target) {
				return fmt.Errorf("copy links %q outside its directory", h.Linkname)
			}
			if err = mkdirAll(rt, filepath.Dir(name)); err == nil {
				err = rt.Link(target, name)
			}
		}
		if err != nil {
			if strings.Contains(err.Error(), "escapes from parent") || strings.Contains(err.Error(), "path escapes") {
				return fmt.Errorf("copy holds %q, outside its directory (through a symlink): %w", h.Name, err)
			}
			return fmt.Errorf("extract %s: %w", h.Name, err)
		}
	}
}

// mkdirAll makes dir (and its parents) under rt, each readable by all.
func mkdirAll(rt *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	if err := rt.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return rt.Chmod(dir, 0o755) // umask may have narrowed it
}

func writeFile(rt *os.Root, name string, r io.Reader, mode os.FileMode) error {
	if err := mkdirAll(rt, filepath.Dir(name)); err != nil {
		return err
	}
	f, err := rt.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close(), rt.Chmod(name, mode)) // umask may have narrowed it
}

// shortImage is repo:tag of a pinned reference, for messages.
func shortImage(ref string) string {
	r, _, _ := strings.Cut(ref, "@")
	return r
}

// removeImagePaths deletes every copy made; called when the Engine closes.
func (e *Engine) removeImagePaths() error {
	e.paths.mu.Lock()
	defer e.paths.mu.Unlock()
	var errs []error
	for _, root := range e.paths.roots {
		errs = append(errs, os.RemoveAll(root))
	}
	e.paths.roots, e.paths.hosts = nil, nil
	return errors.Join(errs...)
}

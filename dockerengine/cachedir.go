package dockerengine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/parity-ci/parity/cachedir"
	"github.com/parity-ci/parity/job"
)

// cacheMountPoint is where the container that moves a cache volume's files
// mounts it: the tar files hold "parity-cache/...".
const cacheMountPoint = "/parity-cache"

// RestoreCaches fills the caches the run of specs uses from dir, when dir
// holds them under the keys the plan computes (cachedir.Volumes), and this
// machine does not: a cache volume that exists is the machine's own and is
// left as it is. Setup images are loaded when the cells' tags are in dir;
// the setup step then checks each is built on its pinned image. Nothing
// runs: each volume is filled through a container that is created and
// never started. A directory without a manifest restores nothing.
func (e *Engine) RestoreCaches(ctx context.Context, dir string, specs []job.Spec) (cachedir.Summary, error) {
	start := time.Now()
	var sum cachedir.Summary
	m, ok, err := cachedir.Read(dir)
	if err != nil || !ok {
		sum.Duration = time.Since(start)
		return sum, err
	}
	var errs []error
	for _, want := range cachedir.Volumes(specs) {
		have, ok := m.Find(want)
		if !ok {
			sum.Skipped = append(sum.Skipped, "none for "+want.Volume)
			continue
		}
		if _, err := e.cli.VolumeInspect(ctx, want.Volume); err == nil {
			sum.Skipped = append(sum.Skipped, want.Volume+" kept (this machine has it)")
			continue
		}
		n, err := e.restoreVolume(ctx, filepath.Join(dir, have.File), want)
		if err != nil {
			errs = append(errs, fmt.Errorf("restore %s into %s: %w", have.File, want.Volume, err))
			continue
		}
		sum.Entries++
		sum.Bytes += n
	}
	for _, tag := range e.setupTags(ctx, specs) {
		have, ok := m.Find(cachedir.SetupEntry(tag))
		if !ok {
			continue
		}
		if _, err := e.cli.ImageInspect(ctx, tag); err == nil {
			continue
		}
		n, err := e.loadImage(ctx, filepath.Join(dir, have.File))
		if err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", have.File, err))
			continue
		}
		sum.Entries++
		sum.Bytes += n
	}
	sum.Duration = time.Since(start)
	return sum, errors.Join(errs...)
}

// SaveCaches writes the caches the run of specs used into dir (made if
// needed), with a manifest of their keys, and removes what the directory
// held of other runs. Setup images that installed nothing (their image is
// the pinned one) are left out: the setup step makes them again in a
// second. Files are written under temporary names first, so a save cut
// short leaves the previous manifest and files as they were.
func (e *Engine) SaveCaches(ctx context.Context, dir, version, goSum string, specs []job.Spec) (cachedir.Summary, error) {
	start := time.Now()
	var sum cachedir.Summary
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sum, fmt.Errorf("--cache-dir: %w", err)
	}
	m := cachedir.Manifest{Parity: version, Saved: time.Now().UTC(), GoSum: goSum}
	var errs []error
	for _, ent := range cachedir.Volumes(specs) {
		if _, err := e.cli.VolumeInspect(ctx, ent.Volume); err != nil {
			continue // the cell never started
		}
		n, err := e.saveVolume(ctx, filepath.Join(dir, ent.File), ent)
		if err != nil {
			errs = append(errs, fmt.Errorf("save %s: %w", ent.Volume, err))
			continue
		}
		ent.Bytes = n
		m.Entries = append(m.Entries, ent)
	}
	for _, tag := range e.setupTags(ctx, specs) {
		trivial, err := e.installedNothing(ctx, tag)
		if err != nil || trivial {
			continue
		}
		ent := cachedir.SetupEntry(tag)
		n, err := e.saveImage(ctx, filepath.Join(dir, ent.File), tag)
		if err != nil {
			errs = append(errs, fmt.Errorf("save %s: %w", tag, err))
			continue
		}
		ent.Bytes = n
		m.Entries = append(m.Entries, ent)
	}
	if len(errs) > 0 {
		sum.Duration = time.Since(start)
		return sum, errors.Join(errs...)
	}
	for _, ent := range m.Entries {
		if err := os.Rename(filepath.Join(dir, ent.File+".tmp"), filepath.Join(dir, ent.File)); err != nil {
			return sum, err
		}
		sum.Entries++
		sum.Bytes += ent.Bytes
	}
	sum.Duration = time.Since(start)
	return sum, cachedir.Write(dir, m)
}

// mover creates (never starts) a container of the entry's cell image that
// mounts its volume, to copy files in or out, and a func removing it.
func (e *Engine) mover(ctx context.Context, ent cachedir.Entry) (string, func(), error) {
	img, err := e.ensureImage(ctx, *ent.Spec)
	if err != nil {
		return "", nil, err
	}
	created, err := e.cli.ContainerCreate(ctx,
		&container.Config{Image: img.id, Cmd: []string{"true"}, Labels: e.owner().labels(ent.Spec.Cell.Key(), "cache-dir")},
		&container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: ent.Volume, Target: cacheMountPoint, VolumeOptions: &mount.VolumeOptions{NoCopy: true}}}},
		nil, nil, "")
	if err != nil {
		return "", nil, err
	}
	return created.ID, func() { e.remove(created.ID) }, nil
}

func (e *Engine) restoreVolume(ctx context.Context, file string, ent cachedir.Entry) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: ent.Volume, Labels: map[string]string{LabelCache: ent.Spec.Cell.Key()}}); err != nil {
		return 0, err
	}
	id, done, err := e.mover(ctx, ent)
	if err != nil {
		return 0, err
	}
	defer done()
	cr := &countReader{r: f}
	// The files keep the owners and modes they were saved with (the
	// cells' user); the daemon extracts them into the volume.
	if err := e.cli.CopyToContainer(ctx, id, "/", cr, container.CopyToContainerOptions{}); err != nil {
		// A half-filled cache is still valid, but say so by removing it.
		_ = e.cli.VolumeRemove(context.WithoutCancel(ctx), ent.Volume, true)
		return cr.n, err
	}
	return cr.n, nil
}

func (e *Engine) saveVolume(ctx context.Context, file string, ent cachedir.Entry) (int64, error) {
	id, done, err := e.mover(ctx, ent)
	if err != nil {
		return 0, err
	}
	defer done()
	rc, _, err := e.cli.CopyFromContainer(ctx, id, cacheMountPoint)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return saveTo(file+".tmp", rc)
}

func (e *Engine) saveImage(ctx context.Context, file, tag string) (int64, error) {
	rc, err := e.cli.ImageSave(ctx, []string{tag})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return saveTo(file+".tmp", rc)
}

func (e *Engine) loadImage(ctx context.Context, file string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cr := &countReader{r: f}
	resp, err := e.cli.ImageLoad(ctx, cr, client.ImageLoadWithQuiet(true))
	if err != nil {
		return cr.n, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return cr.n, err
}

// installedNothing reports whether a setup image is its pinned image and
// one empty layer: the C compiler was there already.
func (e *Engine) installedNothing(ctx context.Context, tag string) (bool, error) {
	h, err := e.cli.ImageHistory(ctx, tag)
	if err != nil {
		return false, err
	}
	return len(h) > 0 && h[0].Size == 0, nil
}

// setupTags are the setup images the cells of specs use (or would): one
// per platform image and setup step, as setup names them.
func (e *Engine) setupTags(ctx context.Context, specs []job.Spec) []string {
	var tags []string
	seen := map[string]bool{}
	for _, s := range specs {
		if s.NotRunnable != "" {
			continue
		}
		for _, st := range s.Steps {
			if st.Name != job.StepSetup {
				continue
			}
			pd, err := e.platformDigest(ctx, s.Image, s.Platform)
			if err != nil {
				continue
			}
			if tag := setupTag(pd, s, st); !seen[tag] {
				seen[tag] = true
				tags = append(tags, tag)
			}
		}
	}
	return tags
}

// builtOn reports whether a setup image is built on base: its layers
// start with all of base's. A restored setup image that is not is not
// used.
func builtOn(setup, base image.InspectResponse) bool {
	if setup.RootFS.Type != base.RootFS.Type || len(setup.RootFS.Layers) <= len(base.RootFS.Layers) {
		return false
	}
	for i, l := range base.RootFS.Layers {
		if setup.RootFS.Layers[i] != l {
			return false
		}
	}
	return true
}

func saveTo(name string, r io.Reader) (int64, error) {
	f, err := os.Create(name)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return n, err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ForgetCaches removes every cache the run of specs uses, as on a machine
// that never ran it: the project's and the cells' cache volumes, the
// standard library seeds, the setup images. Only those: other projects'
// caches, other images' seeds and setup images stay. A volume or image in
// use by a container is an error (another run is using it).
func (e *Engine) ForgetCaches(ctx context.Context, specs []job.Spec) (Removed, error) {
	var rm Removed
	var errs []error
	for _, ent := range cachedir.Volumes(specs) {
		if err := e.cli.VolumeRemove(ctx, ent.Volume, false); err != nil {
			if !client.IsErrNotFound(err) {
				errs = append(errs, fmt.Errorf("volume %s: %w", ent.Volume, err))
			}
			continue
		}
		rm.Volumes = append(rm.Volumes, ent.Volume)
	}
	for _, tag := range e.setupTags(ctx, specs) {
		if _, err := e.cli.ImageRemove(ctx, tag, image.RemoveOptions{}); err != nil {
			if !client.IsErrNotFound(err) {
				errs = append(errs, fmt.Errorf("image %s: %w", tag, err))
			}
			continue
		}
		rm.Images = append(rm.Images, tag)
	}
	return rm, errors.Join(errs...)
}

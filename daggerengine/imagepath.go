package daggerengine

import (
	"dagger.io/dagger"

	"github.com/parity-ci/parity/job"
)

// opMountImagePath mounts a file or directory of another image (the
// --explain experiments that borrow one from a passing cell's image):
// value is the image, args are its platform, the path in it, and "dir" or
// "file".
const opMountImagePath opKind = "mount-image-path"

func imagePathOps(m job.Mount) []op {
	kind := "file"
	if m.Dir {
		kind = "dir"
	}
	return []op{{kind: opMountImagePath, path: m.Target, value: m.Image, args: []string{m.Platform, m.Path, kind}, readOnly: true}}
}

// mountImagePath reads the path from the other image, on its own platform,
// straight from the engine: nothing passes through the host. A mounted
// file cannot be read-only in Dagger; it belongs to root, and steps do not
// run as root.
func (e *Engine) mountImagePath(ctr *dagger.Container, o op) *dagger.Container {
	platform, path, kind := o.args[0], o.args[1], o.args[2]
	src := e.c.Container(dagger.ContainerOpts{Platform: dagger.Platform(platform)}).From(o.value)
	if kind == "dir" {
		return ctr.WithMountedDirectory(o.path, src.Directory(path), dagger.ContainerWithMountedDirectoryOpts{ReadOnly: true})
	}
	return ctr.WithMountedFile(o.path, src.File(path))
}

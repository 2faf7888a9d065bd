package dockerengine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/pins"
)

type resolvedImage struct {
	id             string // local image ID
	platformDigest string // manifest digest pulled
}

// ensureImage pulls the cell's platform manifest by digest (never a tag)
// and checks that what the daemon holds is that manifest for that platform.
func (e *Engine) ensureImage(ctx context.Context, s job.Spec) (resolvedImage, error) {
	ref, err := matrix.ParsePinned(s.Image)
	if err != nil {
		return resolvedImage{}, err
	}
	pd, err := e.platformDigest(ctx, s.Image, s.Platform)
	if err != nil {
		return resolvedImage{}, err
	}
	// Through the mirror, when one is set, like the index was read.
	repo := ref.Repo
	if m := e.opt.Registry.Mirror; m != "" {
		if repo, err = pins.ApplyMirror(ref.Repo, m); err != nil {
			return resolvedImage{}, err
		}
	}
	byDigest := repo + "@" + pd
	inspect, err := e.cli.ImageInspect(ctx, byDigest)
	if client.IsErrNotFound(err) {
		e.opt.Logf("%s: pulling %s", s.Cell, byDigest)
		if err = e.pull(ctx, byDigest, s.Platform); err != nil {
			return resolvedImage{}, fmt.Errorf("pull %s: %w", byDigest, err)
		}
		inspect, err = e.cli.ImageInspect(ctx, byDigest)
	}
	if err != nil {
		return resolvedImage{}, fmt.Errorf("inspect %s: %w", byDigest, err)
	}
	if err := checkImage(inspect, repo, pd, s.Cell.Arch); err != nil {
		return resolvedImage{}, err
	}
	return resolvedImage{id: inspect.ID, platformDigest: pd}, nil
}

// checkImage refuses an image that is not the pinned manifest or not built
// for the cell's arch: a run must never silently use a different image.
func checkImage(in image.InspectResponse, repo, digest string, arch matrix.Arch) error {
	ok := slices.ContainsFunc(in.RepoDigests, func(rd string) bool {
		return strings.HasSuffix(rd, "@"+digest) && familiar(strings.SplitN(rd, "@", 2)[0]) == familiar(repo)
	})
	if !ok {
		return fmt.Errorf("image %s: the daemon's image has digests %v, not the pinned %s", in.ID, in.RepoDigests, digest)
	}
	if in.Os != "linux" || in.Architecture != string(arch) {
		return fmt.Errorf("image %s@%s is %s/%s, the cell needs linux/%s", repo, digest, in.Os, in.Architecture, arch)
	}
	return nil
}

// familiar normalises Docker Hub names the way RepoDigests print them.
func familiar(repo string) string {
	repo = strings.TrimPrefix(repo, "docker.io/")
	repo = strings.TrimPrefix(repo, "index.docker.io/")
	return strings.TrimPrefix(repo, "library/")
}

func (e *Engine) pull(ctx context.Context, ref, platform string) error {
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{Platform: platform})
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
	}
}

// platformDigest picks the platform's manifest out of the pinned index. The
// answer never changes for an index digest, so it is remembered on disk and
// a later run can go on without the registry.
func (e *Engine) platformDigest(ctx context.Context, img, platform string) (string, error) {
	key := sha256.Sum256([]byte(img + "\n" + platform))
	memo := ""
	if dir, err := os.UserCacheDir(); err == nil {
		memo = filepath.Join(dir, "parity", "platform-digests", hex.EncodeToString(key[:16]))
		if b, err := os.ReadFile(memo); err == nil && matrixDigest(string(b)) {
			return string(b), nil
		}
	}
	d, err := pins.Resolve(ctx, img, platform, e.opt.Registry)
	if err != nil {
		return "", fmt.Errorf("select %s from %s: %w", platform, img, err)
	}
	if memo != "" && os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
		_ = os.WriteFile(memo, []byte(d), 0o644)
	}
	return d, nil
}

func matrixDigest(s string) bool {
	_, err := matrix.ParsePinned("x@" + s)
	return err == nil
}

// setupTag names the derived image of a setup step: one per platform
// image (its manifest digest), script and environment.
func setupTag(platformDigest string, s job.Spec, st job.Step) string {
	h := sha256.Sum256([]byte(platformDigest + "\n" + strings.Join(st.Args, "\x00") + "\n" + strings.Join(mergeEnv(s.Env, st.Env), "\x00")))
	return SetupImageRepo + ":" + hex.EncodeToString(h[:12])
}

// setup runs the image-preparation step once per (image, script) and keeps
// the result as a local image that later runs reuse: a cached, derived
// image, so Alpine's compiler install costs one run, not every run. An
// image under the tag that is not built on the cell's pinned image (one
// restored from a cache directory, say) is not used: it is made again.
func (c *cell) setup(ctx context.Context, st job.Step) job.StepResult {
	tag := setupTag(c.digest, c.spec, st)
	if in, err := c.e.cli.ImageInspect(ctx, tag); err == nil {
		base, berr := c.e.cli.ImageInspect(ctx, c.image)
		if berr == nil && builtOn(in, base) {
			c.image = in.ID
			return job.StepResult{Name: st.Name, Stdout: "reused prepared image " + tag + "\n"}
		}
		c.e.opt.Logf("%s: %s is not built on %s: making it again", c.spec.Cell, tag, c.spec.Image)
		if _, err := c.e.cli.ImageRemove(ctx, tag, image.RemoveOptions{}); err != nil && !client.IsErrNotFound(err) {
			return job.StepResult{Name: st.Name, Err: fmt.Sprintf("remove %s, not built on the pinned image: %v", tag, err)}
		}
	}
	start := time.Now()
	cfg, hc, err := containerConfig(c.spec, st, c.image, c.e.opt.SourceDir, c.e.owner(), c.views, c.sent)
	if err != nil {
		return job.StepResult{Name: st.Name, Err: err.Error()}
	}
	cfg.Cmd = st.Args // committed into the image's history: keep it to the script
	r, id := c.e.runKeep(ctx, cfg, hc, c.spec.Platform, nil)
	r.Name = st.Name
	if id != "" {
		defer c.e.remove(id)
	}
	if r.Err != "" || r.ExitCode != 0 {
		return r
	}
	commit, err := c.e.cli.ContainerCommit(ctx, id, container.CommitOptions{Reference: tag, Comment: "parity setup step"})
	if err != nil {
		r.Err = fmt.Sprintf("commit prepared image: %v", err)
		return r
	}
	c.image = commit.ID
	r.Duration = time.Since(start)
	return r
}

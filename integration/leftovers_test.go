package integration

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/parity-ci/parity/dockerengine"
)

// TestLeftoversAreOwn: a container another Parity run left on the shared
// daemon is not this run's leftover; one of this run's is.
func TestLeftoversAreOwn(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run the real-container tests, but no Docker daemon answers `docker info`")
		}
		t.Skip("no Docker daemon answers `docker info`")
	}
	ctx := context.Background()
	eng, err := dockerengine.New(ctx, dockerengine.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	imgs, err := eng.Client().ImageList(ctx, image.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) == 0 {
		t.Skip("no image on the daemon to create a container from")
	}
	// Created, never started: a container only needs to exist.
	create := func(run string) string {
		c, err := eng.Client().ContainerCreate(ctx, &container.Config{
			Image:  imgs[0].ID,
			Cmd:    []string{"true"},
			Labels: map[string]string{dockerengine.LabelRun: run, dockerengine.LabelCell: "leftover-test", dockerengine.LabelStep: "none"},
		}, nil, nil, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Client().ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}) })
		return c.ID[:12]
	}
	other := create("another-run-" + eng.RunID())
	mine := create(eng.RunID())
	left := leftovers(t, eng)
	has := func(id string) bool {
		return slices.ContainsFunc(left, func(l string) bool { return strings.HasPrefix(l, id) })
	}
	if has(other) {
		t.Errorf("another run's container %s counted as this run's leftover: %q", other, left)
	}
	if !has(mine) {
		t.Errorf("this run's container %s not found among its leftovers: %q", mine, left)
	}
}

package daggerengine

import (
	"slices"
	"testing"

	"github.com/parity-ci/parity/job"
)

func TestImagePathMountsReadTheOtherImage(t *testing.T) {
	s := job.Spec{Workdir: "/src", Mounts: []job.Mount{
		{Kind: job.MountImagePath, Image: "golang:1.26.8-trixie@sha256:abc", Platform: "linux/amd64", Path: "/usr/share/zoneinfo", Target: "/usr/share/zoneinfo", ReadOnly: true, Dir: true},
		{Kind: job.MountImagePath, Image: "golang:1.26.8-trixie@sha256:abc", Platform: "linux/amd64", Path: "/usr/bin/bash", Target: "/usr/local/bin/bash", ReadOnly: true},
	}}
	var got []op
	for _, o := range baseOps(s) {
		if o.kind == opMountImagePath {
			got = append(got, o)
		}
	}
	if len(got) != 2 {
		t.Fatalf("image-path ops = %+v", got)
	}
	if o := got[0]; o.path != "/usr/share/zoneinfo" || o.value != "golang:1.26.8-trixie@sha256:abc" || !slices.Equal(o.args, []string{"linux/amd64", "/usr/share/zoneinfo", "dir"}) {
		t.Errorf("directory op = %+v", o)
	}
	if o := got[1]; o.path != "/usr/local/bin/bash" || !slices.Equal(o.args, []string{"linux/amd64", "/usr/bin/bash", "file"}) {
		t.Errorf("file op = %+v", o)
	}
}

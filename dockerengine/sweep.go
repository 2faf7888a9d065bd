package dockerengine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// LabelCache marks Parity's cache volumes (the value is the cell).
const LabelCache = "dev.parity.cache"

// SetupImageRepo is the repository of the derived images setup steps make.
const SetupImageRepo = "parity-setup"

func (e *Engine) owner() owner {
	return owner{run: e.runID, host: e.host, pid: e.pid, endpoint: e.ep.String()}
}

// processID names a live process for a label: its pid and start time (in
// clock ticks since boot), so a reused pid does not pass for the same
// process. ok is false when the process does not exist.
func processID(pid int) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its closing parenthesis, from field 3 on.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", false
	}
	return strconv.Itoa(pid) + ":" + f[19], true // field 22: starttime
}

// ProcessLabel is the LabelPID value of a process of this PID namespace:
// "<pid>:<start time>:<PID namespace>". The namespace is part of it because
// Parity processes in different PID namespaces (CI runners in containers)
// may share a host name and a daemon, and the same pid names different
// processes in each. ok is false when the process does not exist.
func ProcessLabel(pid int) (string, bool) {
	id, ok := processID(pid)
	ns := pidNamespace()
	if !ok || ns == "" {
		return "", false
	}
	return id + ":" + ns, true
}

// pidNamespace names this process's PID namespace by its inode, as
// readlink /proc/self/ns/pid prints it ("pid:[4026531836]" -> "4026531836");
// "" when it cannot be read.
func pidNamespace() string {
	l, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	ino := strings.TrimSuffix(strings.TrimPrefix(l, "pid:["), "]")
	if _, err := strconv.ParseUint(ino, 10, 64); err != nil {
		return ""
	}
	return ino
}

// dead reports whether the process a LabelPID value names is provably
// gone: the label is of this PID namespace and no process of it has that
// pid and start time. A label of another namespace, or of an older Parity
// that did not record one, cannot be checked from here: not dead.
func dead(label string) bool {
	f := strings.Split(label, ":")
	if len(f) != 3 {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false
	}
	ns := pidNamespace()
	if ns == "" || f[2] != ns {
		return false
	}
	now, ok := processID(pid)
	return !ok || now != f[0]+":"+f[1]
}

// stale reports whether a container's labels name a run of this host
// whose Parity process is gone: a run killed with SIGKILL, or whose daemon
// connection broke before it could clean up.
func stale(labels map[string]string, host string) bool {
	return host != "" && labels[LabelHost] == host && labels[LabelRun] != "" && dead(labels[LabelPID])
}

// Removed is what a sweep or a clean removed.
type Removed struct {
	Containers []string // "<id> <run> <cell>/<step>"
	Volumes    []string
	Images     []string
}

// SweepStale removes the containers of earlier runs on this host whose
// Parity process is provably gone (see dead). Runs of other hosts (a shared
// remote daemon), of other PID namespaces and live runs are never touched.
// New does not call it: a run does, so that connecting (parity plan) touches
// nothing.
func (e *Engine) SweepStale(ctx context.Context) (Removed, error) {
	rm, err := e.removeContainers(ctx, func(c container.Summary) bool { return stale(c.Labels, e.host) })
	// Their cache views, once no container of theirs is left, and the
	// volumes of copies those runs made (a remote daemon's).
	views, verr := e.sweepViews(ctx, func(l map[string]string) bool { return stale(l, e.host) })
	rm.Volumes = append(rm.Volumes, views...)
	vols, derr := e.staleDeliveries(ctx)
	rm.Volumes = append(rm.Volumes, vols...)
	return rm, errors.Join(err, verr, derr)
}

// CleanOptions say what Clean removes besides dead runs' containers.
type CleanOptions struct {
	// All also removes cache volumes and derived parity-setup images.
	All bool
	// Scope, when set, limits the volumes removed to those of this cache
	// scope, matched as a whole name part (see RemoveCaches); empty removes
	// every volume labelled LabelCache.
	Scope string
}

// Clean removes Parity's containers that no live run needs: those of dead
// runs on this host, and stopped ones from anywhere; with All also running
// ones of other hosts (whose runs cannot be checked from here), the cache
// volumes and the parity-setup images. A live run's on this host stay.
func (e *Engine) Clean(ctx context.Context, o CleanOptions) (Removed, error) {
	rm, err := e.removeContainers(ctx, func(c container.Summary) bool { return cleanable(c, e.host, e.runID, o.All) })
	if err != nil {
		return rm, err
	}
	// Cache views of runs whose containers these were: a dead run's, and
	// with All any but a live run's of this host; and the volumes of
	// copies dead runs made on a remote daemon.
	views, err := e.sweepViews(ctx, func(l map[string]string) bool {
		if l[LabelRun] == e.runID {
			return false
		}
		if stale(l, e.host) {
			return true
		}
		live := e.host != "" && l[LabelHost] == e.host && ours(l[LabelPID])
		return o.All && !live
	})
	rm.Volumes = views
	if err == nil {
		var vols []string
		vols, err = e.staleDeliveries(ctx)
		rm.Volumes = append(rm.Volumes, vols...)
	}
	if !o.All || err != nil {
		return rm, err
	}
	caches, err := e.RemoveCaches(ctx, o.Scope)
	rm.Volumes, rm.Images = append(rm.Volumes, caches.Volumes...), caches.Images
	return rm, err
}

// RemoveCaches removes the cache volumes of a cache scope (every Parity
// cache volume when it is empty, and then also the parity-setup images).
// A trailing "-" on scope is ignored. Volumes in use by a container stay.
func (e *Engine) RemoveCaches(ctx context.Context, scope string) (Removed, error) {
	scope = strings.TrimSuffix(scope, "-")
	var rm Removed
	vols, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelCache))})
	if err != nil {
		return rm, fmt.Errorf("docker: list cache volumes: %w", err)
	}
	var errs []error
	for _, v := range vols.Volumes {
		if scope != "" && !InScope(v.Name, scope) {
			continue
		}
		if err := e.cli.VolumeRemove(ctx, v.Name, false); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("volume %s: %w", v.Name, err))
			continue
		}
		rm.Volumes = append(rm.Volumes, v.Name)
	}
	if scope == "" {
		imgs, err := e.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", SetupImageRepo))})
		if err != nil {
			return rm, errors.Join(append(errs, fmt.Errorf("docker: list setup images: %w", err))...)
		}
		for _, im := range imgs {
			for _, tag := range im.RepoTags {
				if _, err := e.cli.ImageRemove(ctx, tag, image.RemoveOptions{}); err != nil && !client.IsErrNotFound(err) {
					errs = append(errs, fmt.Errorf("image %s: %w", tag, err))
					continue
				}
				rm.Images = append(rm.Images, tag)
			}
		}
	}
	return rm, errors.Join(errs...)
}

// cacheNameRest is what follows "<scope>-" in a cache volume's name: the
// cell's key and the cache's kind, "go1.27.1-musl-amd64-gocache", the
// project's module cache, "gomod", or a run's own standard library seed,
// "std-<hash>" (policies.Options.PrivateSeeds).
var cacheNameRest = regexp.MustCompile(`^(go[0-9][0-9.]*-[a-z0-9]+-[a-z0-9]+-[a-z0-9]+|gomod|std-[0-9a-f]+)$`)

// InScope reports whether a cache volume's name is of scope as a whole:
// "<scope>-<cell key>-<kind>". A bare prefix test would take scope
// "parity-ab"'s for "parity-ab-c"'s, another project's.
func InScope(volume, scope string) bool {
	rest, ok := strings.CutPrefix(volume, scope+"-")
	return ok && cacheNameRest.MatchString(rest)
}

// cleanable says whether parity clean removes a container: never this
// run's; a provably dead run's of this host always; a live run's of this
// host (same PID namespace) never; of other hosts or PID namespaces (or
// unlabelled, older runs) the stopped ones, and with all the running ones
// too.
func cleanable(c container.Summary, host, runID string, all bool) bool {
	l := c.Labels
	switch {
	case l[LabelRun] == runID:
		return false
	case host != "" && l[LabelHost] == host && dead(l[LabelPID]):
		return true
	case host != "" && l[LabelHost] == host && ours(l[LabelPID]):
		return false // alive, and checkable from here
	}
	return all || c.State != container.StateRunning
}

// ours reports whether a LabelPID value is of this PID namespace.
func ours(label string) bool {
	f := strings.Split(label, ":")
	ns := pidNamespace()
	return len(f) == 3 && ns != "" && f[2] == ns
}

func (e *Engine) removeContainers(ctx context.Context, match func(container.Summary) bool) (Removed, error) {
	var rm Removed
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelRun))})
	if err != nil {
		return rm, fmt.Errorf("docker: list containers: %w", err)
	}
	var errs []error
	for _, c := range list {
		if !match(c) {
			continue
		}
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("container %s: %w", c.ID[:12], err))
			continue
		}
		rm.Containers = append(rm.Containers, fmt.Sprintf("%s run %s %s/%s", c.ID[:12], c.Labels[LabelRun], c.Labels[LabelCell], c.Labels[LabelStep]))
	}
	return rm, errors.Join(errs...)
}

package dockerengine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/parity-ci/parity/job"
)

// LabelView marks the volumes of a cache view: its value is the cache
// volume the view is of. They also carry the run's labels (LabelRun,
// LabelHost, LabelPID), so a sweep finds a dead run's.
const LabelView = "dev.parity.view"

// A view is what the steps a Spec lists in a cache mount's ViewSteps see
// instead of the volume: a copy-on-write overlay of it (lowerdir: the
// volume's directory on the daemon's host, read-only; upperdir and workdir:
// two volumes of the view's own), created by the daemon's local volume
// driver when a container mounts it. Every step of the run that sees the
// view shares it, in order (the deps step's downloads reach the tests of an
// untrusted run); it is removed when the run ends, and nothing written to
// it ever reaches the volume. Where the daemon cannot mount an overlay
// (a rootless daemon, a data root on overlayfs), the view is a plain volume
// holding a copy of the cache, made when the view is.
type view struct {
	name    string   // the volume steps mount
	volumes []string // every volume of the view, removed with it
	mode    viewMode
}

// viewMode is how a view is made: the first the daemon can mount.
type viewMode int

const (
	overlayMetacopy viewMode = iota // overlay, metacopy=on
	overlayPlain                    // overlay without metacopy (a kernel that refuses it)
	copied                          // a plain volume holding a copy
)

// views are the run's: one per cache volume and run (see BeginRun).
type views struct {
	mu   sync.Mutex
	gen  int
	byID map[string]*viewEntry // "<gen>/<cache volume>"
}

type viewEntry struct {
	mu  sync.Mutex // held while the view is made
	v   view
	err error
	ok  bool
}

// BeginRun starts a run of the pipeline: the cache views its cells make
// last until the returned function is called (Close removes what is left).
// Re-runs and experiments of the run share its views.
func (e *Engine) BeginRun(context.Context) func() {
	e.views.mu.Lock()
	e.views.gen++
	gen := e.views.gen
	e.views.mu.Unlock()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
		defer cancel()
		if err := e.removeViews(ctx, gen); err != nil {
			e.opt.Logf("removing the run's cache views: %v", err)
		}
	}
}

// viewsFor makes (once per run) the views s's cache mounts need and
// returns their volumes by cache volume name.
func (e *Engine) viewsFor(ctx context.Context, s job.Spec, image string) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range s.Mounts {
		if m.Kind != job.MountCache || len(m.ViewSteps) == 0 {
			continue
		}
		v, err := e.view(ctx, s, m, image)
		if err != nil {
			return nil, fmt.Errorf("docker: a view of cache volume %s: %w", m.Name, err)
		}
		out[m.Name] = v.name
	}
	return out, nil
}

// entry is the run's entry for cache volume name, made on first use.
func (e *Engine) entry(name string) *viewEntry {
	e.views.mu.Lock()
	defer e.views.mu.Unlock()
	id := strconv.Itoa(e.views.gen) + "/" + name
	if e.views.byID == nil {
		e.views.byID = map[string]*viewEntry{}
	}
	en, ok := e.views.byID[id]
	if !ok {
		en = &viewEntry{}
		e.views.byID[id] = en
	}
	return en
}

// view returns the run's view of m's volume, making it (an overlay volume
// and its upper and work volumes: API calls only) on first use.
func (e *Engine) view(ctx context.Context, s job.Spec, m job.Mount, image string) (view, error) {
	en := e.entry(m.Name)
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.ok || en.err != nil {
		return en.v, en.err
	}
	name := fmt.Sprintf("%s-view-%s-%d", m.Name, e.runID, e.gen())
	if e.opt.CopyViews {
		en.v, en.err = e.copyView(ctx, s, m, image, name)
	} else {
		en.v, en.err = e.overlay(ctx, s, m, name, overlayMetacopy)
	}
	en.ok = en.err == nil
	return en.v, en.err
}

func (e *Engine) viewLabels(s job.Spec, m job.Mount) map[string]string {
	l := e.owner().labels(s.Cell.Key(), "view")
	l[LabelView] = m.Name
	return l
}

func (e *Engine) overlay(ctx context.Context, s job.Spec, m job.Mount, name string, mode viewMode) (view, error) {
	base, err := e.cli.VolumeInspect(ctx, m.Name)
	if err != nil {
		return view{}, err
	}
	v := view{name: name, mode: mode}
	mk := func(n string, opts map[string]string) (string, error) {
		vol, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: n, Driver: "local", DriverOpts: opts, Labels: e.viewLabels(s, m)})
		if err != nil {
			return "", err
		}
		v.volumes = append(v.volumes, n)
		return vol.Mountpoint, nil
	}
	upper, err := mk(v.name+"-upper", nil)
	if err != nil {
		return view{}, errors.Join(err, e.removeVolumes(ctx, v.volumes))
	}
	work, err := mk(v.name+"-work", nil)
	if err == nil {
		_, err = mk(v.name, overlayOptions(base.Mountpoint, upper, work, mode == overlayMetacopy))
	}
	if err != nil {
		return view{}, errors.Join(err, e.removeVolumes(ctx, v.volumes))
	}
	return v, nil
}

func (e *Engine) gen() int {
	e.views.mu.Lock()
	defer e.views.mu.Unlock()
	return e.views.gen
}

// fallBack replaces the run's view of m's volume, which the daemon could
// not mount, by the next way of making it: an overlay without metacopy,
// then a plain volume holding a copy of the cache, made now (as root, so
// every file copies whatever its mode) and handed to the cell's user. A
// view another cell already replaced is left as it is.
func (e *Engine) fallBack(ctx context.Context, s job.Spec, m job.Mount, image string, failed viewMode, why error) error {
	en := e.entry(m.Name)
	en.mu.Lock()
	defer en.mu.Unlock()
	if !en.ok || en.v.mode != failed || failed == copied {
		return nil
	}
	if err := e.removeVolumes(ctx, append([]string{en.v.name}, en.v.volumes...)); err != nil {
		return err
	}
	if failed == overlayMetacopy {
		e.opt.Logf("%s: the daemon cannot mount an overlay with metacopy for a view of %s (%v): trying without", s.Cell, m.Name, why)
		v, err := e.overlay(ctx, s, m, en.v.name, overlayPlain)
		if err == nil {
			en.v = v
		}
		return err
	}
	e.opt.Logf("%s: the daemon cannot mount a copy-on-write view of %s (%v): copying the cache instead", s.Cell, m.Name, why)
	v, err := e.copyView(ctx, s, m, image, en.v.name)
	if err == nil {
		en.v = v
	}
	return err
}

// copyView makes a view that is a plain volume holding a copy of the
// cache, made now (as root, so every file copies whatever its mode) and
// handed to the cell's user.
func (e *Engine) copyView(ctx context.Context, s job.Spec, m job.Mount, image, name string) (view, error) {
	v := view{name: name, volumes: []string{name}, mode: copied}
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: e.viewLabels(s, m)}); err != nil {
		return view{}, err
	}
	err := e.helper(ctx, s, image, "view", []string{"sh", "-c", `cp -a /cache/. /view/ && chown -R "$1" /view`, "sh", m.Owner}, []string{"CHOWN", "DAC_OVERRIDE", "FOWNER"},
		mount.Mount{Type: mount.TypeVolume, Source: m.Name, Target: "/cache", ReadOnly: true},
		mount.Mount{Type: mount.TypeVolume, Source: name, Target: "/view"})
	if err != nil {
		return view{}, errors.Join(err, e.removeVolumes(ctx, v.volumes))
	}
	return v, nil
}

// modeOf is how the run's view of a cache volume is made now.
func (e *Engine) modeOf(name string) viewMode {
	en := e.entry(name)
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.v.mode
}

// overlayOptions are the local driver's options for an overlay view of
// lower. metacopy=on: go updates the times of the cache entries it uses,
// and without it each one would be copied up whole.
func overlayOptions(lower, upper, work string, metacopy bool) map[string]string {
	o := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if metacopy {
		o += ",metacopy=on"
	}
	return map[string]string{"type": "overlay", "device": "overlay", "o": o}
}

// helper runs a short container of the cell's as root with only the given
// capabilities, no network, the given mounts.
func (e *Engine) helper(ctx context.Context, s job.Spec, image, step string, cmd, caps []string, mounts ...mount.Mount) error {
	for i := range mounts {
		if mounts[i].Type == mount.TypeVolume {
			mounts[i].VolumeOptions = &mount.VolumeOptions{NoCopy: true}
		}
	}
	cfg := &container.Config{Image: image, Cmd: cmd, User: "0:0", Labels: e.owner().labels(s.Cell.Key(), step)}
	hc := &container.HostConfig{
		NetworkMode:    "none",
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		CapAdd:         caps,
		SecurityOpt:    []string{"no-new-privileges"},
		Mounts:         mounts,
	}
	limit(s, hc)
	r := e.run(ctx, cfg, hc, s.Platform, nil)
	if r.Err != "" || r.ExitCode != 0 {
		return fmt.Errorf("%s: exit %d %s%s", strings.Join(cmd, " "), r.ExitCode, r.Err, strings.TrimSpace(r.Stderr))
	}
	return nil
}

// removeViews removes the views of run generation gen (every run's when
// gen is 0).
func (e *Engine) removeViews(ctx context.Context, gen int) error {
	e.views.mu.Lock()
	defer e.views.mu.Unlock()
	var errs []error
	for id, en := range e.views.byID {
		if gen != 0 && !strings.HasPrefix(id, strconv.Itoa(gen)+"/") {
			continue
		}
		if !en.ok {
			delete(e.views.byID, id)
			continue
		}
		// The overlay first: its upper and work directories are the others.
		if err := e.removeVolumes(ctx, append([]string{en.v.name}, en.v.volumes...)); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(e.views.byID, id)
	}
	return errors.Join(errs...)
}

func (e *Engine) removeVolumes(ctx context.Context, names []string) error {
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if err := e.cli.VolumeRemove(ctx, n, true); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("volume %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// sweepViews removes the view volumes of runs that stale says are dead.
func (e *Engine) sweepViews(ctx context.Context, dead func(map[string]string) bool) ([]string, error) {
	list, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelView))})
	if err != nil {
		return nil, fmt.Errorf("docker: list cache views: %w", err)
	}
	var names []string
	for _, v := range list.Volumes {
		if dead(v.Labels) {
			names = append(names, v.Name)
		}
	}
	// Overlays before the volumes they are made of.
	var overlays, rest []string
	for _, n := range names {
		if strings.HasSuffix(n, "-upper") || strings.HasSuffix(n, "-work") {
			rest = append(rest, n)
		} else {
			overlays = append(overlays, n)
		}
	}
	return append(overlays, rest...), e.removeVolumes(ctx, append(overlays, rest...))
}

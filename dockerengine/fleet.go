package dockerengine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/sourcegraph/conc/pool"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/runner"
)

// Fleet is a run's Docker daemons: the default one, and one per platform
// named by --endpoint (a machine that runs that platform natively), as
// docker buildx's per-platform nodes. It is one runner.Runtime: each cell
// starts on the daemon of its Spec's platform, and so does every re-run
// and experiment of it (reduced copies of its Spec). An endpoint that
// cannot be reached, or goes away, loses its own cells (runtime-lost,
// naming it); the others' results stay.
type Fleet struct {
	def     *Engine // nil when no cell needs it and it cannot be reached
	members map[string]*member
	runID   string
}

type member struct {
	ep  Endpoint
	eng *Engine // nil when it could not be reached
	err error   // why (a lostError)
}

var _ runner.Runtime = (*Fleet)(nil)

// NewFleet connects to the default daemon and to every endpoint, all at
// once. The default daemon must answer when some cell has no endpoint
// (needDefault); an endpoint that does not answer is kept as lost.
func NewFleet(ctx context.Context, opt Options, eps []Endpoint, needDefault bool) (*Fleet, error) {
	if opt.RunID == "" {
		opt.RunID = NewRunID()
	}
	f := &Fleet{members: map[string]*member{}, runID: opt.RunID}
	for _, ep := range eps {
		f.members[ep.Platform] = &member{ep: ep}
	}
	var defErr error
	p := pool.New().WithMaxGoroutines(max(1, len(eps)+1))
	p.Go(func() {
		o := opt
		o.Endpoint = Endpoint{}
		f.def, defErr = New(ctx, o)
	})
	for _, m := range f.members {
		p.Go(func() {
			o := opt
			o.Endpoint = m.ep
			m.eng, m.err = New(ctx, o)
			if m.err != nil && !errors.Is(m.err, runner.ErrRuntimeLost) {
				m.err = lostError{fmt.Sprintf("endpoint %s: %v", m.ep, oneLine(m.err))}
			}
		})
	}
	p.Wait()
	if defErr != nil && (needDefault || len(eps) == 0) {
		f.Close()
		return nil, defErr
	}
	if len(eps) > 0 && f.reachable() == 0 {
		f.Close()
		var errs []error
		for _, m := range f.members {
			errs = append(errs, m.err)
		}
		return nil, fmt.Errorf("docker: no daemon of the run can be reached: %w", errors.Join(errs...))
	}
	return f, nil
}

func (f *Fleet) reachable() int {
	n := 0
	if f.def != nil {
		n++
	}
	for _, m := range f.members {
		if m.eng != nil {
			n++
		}
	}
	return n
}

// Lost says, for each endpoint that could not be reached, why.
func (f *Fleet) Lost() []error {
	var out []error
	for _, p := range slices.Sorted(maps.Keys(f.members)) {
		if m := f.members[p]; m.eng == nil {
			out = append(out, m.err)
		}
	}
	return out
}

// Name implements runner.Runtime.
func (f *Fleet) Name() string { return "docker" }

// RunID is the run's id, shared by every engine of the fleet.
func (f *Fleet) RunID() string { return f.runID }

// Default is the default daemon's engine (nil when it was not reached).
func (f *Fleet) Default() *Engine { return f.def }

// Engines are the reached engines by platform ("" for the default one).
func (f *Fleet) Engines() map[string]*Engine {
	out := map[string]*Engine{}
	if f.def != nil {
		out[""] = f.def
	}
	for p, m := range f.members {
		if m.eng != nil {
			out[p] = m.eng
		}
	}
	return out
}

// Start implements runner.Runtime: the cell starts on its platform's
// endpoint, else on the default daemon.
func (f *Fleet) Start(ctx context.Context, s job.Spec) (runner.Cell, error) {
	if m, ok := f.members[s.Platform]; ok {
		if m.eng == nil {
			return nil, m.err
		}
		return m.eng.Start(ctx, s)
	}
	if f.def == nil {
		return nil, fmt.Errorf("docker: no --endpoint for %s and the default daemon cannot be reached", s.Platform)
	}
	return f.def.Start(ctx, s)
}

// Traits are the default daemon's, with the traits of each endpoint's
// machine for its platform (policies.Traits.For): its native arch decides
// emulation and -race, its memory and cores the limits. With endpoints,
// every cell's plan says where it runs and why.
func (f *Fleet) Traits() policies.Traits {
	var t policies.Traits
	switch {
	case f.def != nil:
		t = f.def.Traits()
	default:
		t = (&Engine{}).Traits()
		t.NativeArch = ""
	}
	if len(f.members) == 0 {
		return t
	}
	if f.def != nil && t.Endpoint == "" {
		t.Endpoint, t.EndpointWhy = "default", "no --endpoint for its platform: "+f.def.where()
	} else if f.def == nil {
		t.Endpoint, t.EndpointLost = "default", "the default daemon cannot be reached"
	}
	t.Platforms = map[string]policies.Traits{}
	for _, p := range slices.Sorted(maps.Keys(f.members)) {
		m := f.members[p]
		if m.eng == nil {
			lost := (&Engine{}).Traits()
			lost.NativeArch = ""
			lost.Endpoint, lost.EndpointWhy, lost.EndpointLost = m.ep.URL, fmt.Sprintf("%s cells run on the daemon --endpoint %s names", p, m.ep), oneLine(m.err)
			t.Platforms[p] = lost
			continue
		}
		et := m.eng.Traits()
		et.Endpoint, et.EndpointWhy = m.ep.URL, m.eng.where()
		t.Platforms[p] = et
	}
	return t
}

// SweepStale sweeps dead runs' leftovers on every daemon reached.
func (f *Fleet) SweepStale(ctx context.Context) (Removed, error) {
	var all Removed
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(f.Engines())) {
		rm, err := f.Engines()[p].SweepStale(ctx)
		all.Containers = append(all.Containers, rm.Containers...)
		all.Volumes = append(all.Volumes, rm.Volumes...)
		errs = append(errs, err)
	}
	return all, errors.Join(errs...)
}

// Close is CloseContext without a second Ctrl-C.
func (f *Fleet) Close() error { return f.CloseContext(context.Background()) }

// CloseContext closes every engine at once, each clean-up bounded by
// CloseTimeout: a lost endpoint does not hold up the others'.
func (f *Fleet) CloseContext(ctx context.Context) error {
	engines := f.Engines()
	errs := make([]error, 0, len(engines))
	p := pool.New().WithMaxGoroutines(max(1, len(engines)))
	ch := make(chan error, len(engines))
	for _, e := range engines {
		p.Go(func() { ch <- e.CloseContext(ctx) })
	}
	p.Wait()
	close(ch)
	for err := range ch {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

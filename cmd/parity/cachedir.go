package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"

	"github.com/parity-ci/parity/dockerengine"
	"github.com/parity-ci/parity/pipeline"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
)

// cacheDir is a run's --cache-dir: restored before the run, saved after it
// when the run is trusted.
type cacheDir struct {
	dir     string
	eng     *dockerengine.Engine
	plan    pipeline.Plan
	trusted bool
	why     string // the trust decision's reason
	private string // an untrusted run's own cache scope, removed after it
	goSum   string
	stderr  io.Writer
	// restoreOnly: a recheck's reduced runs build nothing the directory
	// lacks, so it is not saved.
	restoreOnly bool
}

// openCacheDir restores the caches of the plan from --cache-dir. An
// untrusted run restores them into volumes of its own (a cache scope and
// seeds named for the run), removed after it: what it restores never
// becomes a cache of this machine that a later run reads.
func openCacheDir(ctx context.Context, f *runFlags, rt runtime, plan *pipeline.Plan, in pipeline.Inputs, stderr io.Writer) (*cacheDir, error) {
	if f.cacheDir == "" {
		return nil, nil
	}
	eng, ok := rt.(*dockerengine.Engine)
	if !ok {
		return nil, fmt.Errorf("--cache-dir: the %s runtime keeps its caches in its engine; use --runtime=docker, or leave --cache-dir out", rt.Name())
	}
	dir, err := filepath.Abs(f.cacheDir)
	if err != nil {
		return nil, fmt.Errorf("--cache-dir: %w", err)
	}
	c := &cacheDir{dir: dir, eng: eng, trusted: in.Policy.CacheTrust != policies.Untrusted, why: in.Policy.TrustReason, goSum: goSumDigest(f.source), stderr: stderr}
	if !c.trusted {
		b := make([]byte, 4)
		rand.Read(b)
		c.private = in.Policy.CacheScope + "-u" + hex.EncodeToString(b)
		in.Policy.CacheScope, in.Policy.PrivateSeeds = c.private, true
		p, err := pipeline.MakePlan(in, rt.Traits())
		if err != nil {
			return nil, err
		}
		*plan = p
	}
	c.plan = *plan
	sum, err := eng.RestoreCaches(ctx, dir, plan.Specs)
	if err != nil {
		// A cache that cannot be restored costs time, never correctness.
		fmt.Fprintf(stderr, "parity: cache dir: %v\n", err)
	}
	fmt.Fprintf(stderr, "parity: cache dir: restored %s from %s\n", sum, dir)
	return c, nil
}

// close saves the caches after a trusted run that was not interrupted, and
// removes an untrusted run's own volumes.
func (c *cacheDir) close(ctx context.Context, rep report.Report) {
	if c == nil {
		return
	}
	if c.private != "" {
		if _, err := c.eng.RemoveCaches(cleanupContext(ctx), c.private); err != nil {
			fmt.Fprintf(c.stderr, "parity: cache dir: removing this run's own caches: %v\n", err)
		}
	}
	switch {
	case c.restoreOnly:
		return
	case !c.trusted:
		fmt.Fprintf(c.stderr, "parity: cache dir: not saved: the run is untrusted (%s)\n", c.why)
		return
	case ctx.Err() != nil:
		fmt.Fprintln(c.stderr, "parity: cache dir: not saved: the run was interrupted")
		return
	}
	sum, err := c.eng.SaveCaches(ctx, c.dir, rep.Tool.Version, c.goSum, c.plan.Specs)
	if err != nil {
		fmt.Fprintf(c.stderr, "parity: cache dir: not saved: %v\n", err)
		return
	}
	fmt.Fprintf(c.stderr, "parity: cache dir: saved %s to %s\n", sum, c.dir)
}

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// noise watches, while the bench times things, for work that is not the
// bench's: containers on the same daemon that neither carry one of its
// engines' run labels nor mount one of its volumes (the by-hand runs). With
// the host's load before timing, it says whether figures are noisy.
type noise struct {
	load1 float64 // 1-minute load average before timing started

	mu      sync.Mutex
	samples int
	busy    int // samples that saw a foreign container
	most    int // most foreign containers seen at once

	stop func()
	done chan struct{}
}

const noiseEvery = 3 * time.Second

// watchNoise starts sampling; ours reports whether a container is the
// bench's.
func watchNoise(cli *client.Client, ours func(container.Summary) bool) *noise {
	n := &noise{load1: loadAvg1(), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	go func() {
		defer close(n.done)
		t := time.NewTicker(noiseEvery)
		defer t.Stop()
		for {
			n.sample(ctx, cli, ours)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return n
}

func (n *noise) sample(ctx context.Context, cli *client.Client, ours func(container.Summary) bool) {
	list, err := cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return // cancelled, or the daemon hiccuped: no sample
	}
	foreign := 0
	for _, c := range list {
		if !ours(c) {
			foreign++
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.samples++
	if foreign > 0 {
		n.busy++
	}
	n.most = max(n.most, foreign)
}

// Stop ends sampling and returns a one-line verdict.
func (n *noise) Stop(cores int) (noisy bool, summary string) {
	n.stop()
	<-n.done
	n.mu.Lock()
	defer n.mu.Unlock()
	// A quiet machine: almost no load before, no one else's container
	// during. Load counts runnable tasks, so compare with the cores.
	noisy = n.load1 > 0.25*float64(cores) || n.busy > 0
	summary = fmt.Sprintf("1-minute load average %.2f before timing; other containers running in %d of %d samples (every %s, at most %d at once)",
		n.load1, n.busy, n.samples, noiseEvery, n.most)
	return noisy, summary
}

func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		return -1
	}
	return f
}

// settle waits, at most limit, until the 1-minute load average is below a
// quarter of the cores: the level Stop calls quiet.
func settle(ctx context.Context, cores int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for l := loadAvg1(); l > 0.25*float64(cores) && time.Now().Before(deadline); l = loadAvg1() {
		fmt.Fprintf(os.Stderr, "bench: waiting for the load to settle (1-minute load %.2f)\n", l)
		select {
		case <-ctx.Done():
			return
		case <-time.After(15 * time.Second):
		}
	}
}

package policies

import (
	"fmt"
	"math"
)

// Policy ids of the resource limits every cell gets: a test must not be
// able to take the machine (and with it Parity and every other cell) down.
const (
	IDCellMemory = "cell-memory"
	IDCellPids   = "cell-pids"
	IDCellCPUs   = "cell-cpus"
	// IDModCacheRO: the module cache is read-only after the deps step.
	IDModCacheRO = "modcache-readonly"
)

// Limit defaults and bounds.
const (
	// DefaultPids is enough for go test -p N with cgo compilers and test
	// binaries that start helpers, and far from a fork bomb.
	DefaultPids = 4096
	// MinCellMemory is the floor of the derived memory limit: a -race link
	// of a mid-sized package needs about this much.
	MinCellMemory = 1 << 30
	// FallbackCellMemory is used when the host's memory is unknown (a plan
	// made without asking the daemon).
	FallbackCellMemory = 4 << 30
	// ShmBytes caps /dev/shm (it is memory too); Docker's default size.
	ShmBytes = 64 << 20
)

// limits sets the cell's memory, process and CPU limits: the user's values
// when given, else defaults derived from the runtime's host. Memory: 3/4 of
// the host's memory shared by the cells that run at once (the last quarter
// stays for Parity, the daemon and the system), at least MinCellMemory.
// Processes: DefaultPids. CPUs: the host's cores, so a cell alone may use
// the whole machine but cells never get more than the scheduler shares.
func (p *planner) limits() {
	if !p.rt.ResourceLimits {
		p.decide(IDCellMemory, "not-enforced", "%s cannot limit one container's memory: a test that allocates without bound can exhaust the engine's host", p.rt.Name)
		p.decide(IDCellPids, "not-enforced", "%s cannot limit one container's processes", p.rt.Name)
		p.decide(IDCellCPUs, "not-enforced", "%s cannot limit one container's CPUs", p.rt.Name)
		return
	}
	at := max(p.opt.CellsAtOnce, 1)
	switch {
	case p.opt.CellMemory > 0:
		p.spec.MemoryBytes = p.opt.CellMemory
		p.decide(IDCellMemory, sizeString(p.spec.MemoryBytes), "set by the user; swap off, /dev/shm %s; a cell that exceeds it is reported out-of-memory", sizeString(ShmBytes))
	case p.rt.HostMemoryBytes > 0:
		p.spec.MemoryBytes = DefaultMemory(p.rt.HostMemoryBytes, at)
		p.decide(IDCellMemory, sizeString(p.spec.MemoryBytes), "3/4 of the host's %s shared by %d cell(s) at once (at least %s); swap off, /dev/shm %s; a cell that exceeds it is reported out-of-memory",
			approxSize(p.rt.HostMemoryBytes), at, sizeString(MinCellMemory), sizeString(ShmBytes))
	default:
		p.spec.MemoryBytes = FallbackCellMemory
		p.decide(IDCellMemory, sizeString(p.spec.MemoryBytes), "the host's memory is unknown: a fixed %s; swap off, /dev/shm %s", sizeString(FallbackCellMemory), sizeString(ShmBytes))
	}
	if p.opt.CellPids > 0 {
		p.spec.PidsLimit = p.opt.CellPids
		p.decide(IDCellPids, fmt.Sprint(p.spec.PidsLimit), "set by the user; a step whose fork is refused is reported as hitting the resource limit")
	} else {
		p.spec.PidsLimit = DefaultPids
		p.decide(IDCellPids, fmt.Sprint(p.spec.PidsLimit), "processes and threads of each step: plenty for go test, a stop for fork bombs; a refused fork is reported as hitting the resource limit")
	}
	switch cpus := p.opt.CellCPUs; {
	case cpus > 0 && (p.rt.HostCPUs == 0 || cpus <= float64(p.rt.HostCPUs)):
		p.spec.CPUs = cpus
		p.decide(IDCellCPUs, cpuString(cpus), "set by the user")
	case cpus > 0:
		p.spec.CPUs = float64(p.rt.HostCPUs)
		p.decide(IDCellCPUs, cpuString(p.spec.CPUs), "asked for %s, but the host has %d cores: capped", cpuString(cpus), p.rt.HostCPUs)
	case p.rt.HostCPUs > 0:
		p.spec.CPUs = float64(p.rt.HostCPUs)
		p.decide(IDCellCPUs, cpuString(p.spec.CPUs), "the host's %d cores: a cell alone may use the machine; cells at once share it through the scheduler", p.rt.HostCPUs)
	default:
		p.decide(IDCellCPUs, "host", "the host's core count is unknown: no CPU cap")
	}
}

// DefaultMemory is a cell's memory limit on a host with hostBytes of
// memory running cells cells at once.
func DefaultMemory(hostBytes int64, cells int) int64 {
	m := hostBytes / 4 * 3 / int64(max(cells, 1))
	m &^= 1<<20 - 1 // whole MiB, so the decision reads well
	return max(m, MinCellMemory)
}

// approxSize prints a size that need not be a round number of MiB.
func approxSize(n int64) string {
	if n%(1<<20) == 0 {
		return sizeString(n)
	}
	return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
}

func cpuString(c float64) string {
	if c == math.Trunc(c) {
		return fmt.Sprintf("%d", int(c))
	}
	return fmt.Sprintf("%.2f", c)
}

package policies

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
)

func TestLimitsDefaultFromTheHost(t *testing.T) {
	// 16 GiB host, 4 cells at once: 3 GiB each.
	s := plan(t, glibcAMD64, Options{CellsAtOnce: 4}, docker)
	if s.MemoryBytes != 3<<30 || s.PidsLimit != DefaultPids || s.CPUs != 4 {
		t.Fatalf("memory %d pids %d cpus %v", s.MemoryBytes, s.PidsLimit, s.CPUs)
	}
	if d := decision(t, s, IDCellMemory); d.Effect != "3GiB" || !strings.Contains(d.Reason, "16GiB shared by 4 cell(s)") {
		t.Fatalf("memory decision %+v", d)
	}
	if d := decision(t, s, IDCellPids); d.Effect != "4096" {
		t.Fatalf("pids decision %+v", d)
	}
	// Many cells at once never get less than the floor.
	if s := plan(t, glibcAMD64, Options{CellsAtOnce: 64}, docker); s.MemoryBytes != MinCellMemory {
		t.Fatalf("floor: %d", s.MemoryBytes)
	}
	// Unknown host memory: a fixed limit, never none.
	host := docker
	host.HostMemoryBytes, host.HostCPUs = 0, 0
	if s := plan(t, glibcAMD64, Options{}, host); s.MemoryBytes != FallbackCellMemory || s.CPUs != 0 {
		t.Fatalf("unknown host: memory %d cpus %v", s.MemoryBytes, s.CPUs)
	}
}

func TestLimitsSetByTheUser(t *testing.T) {
	s := plan(t, glibcAMD64, Options{CellMemory: 2 << 30, CellPids: 512, CellCPUs: 1.5}, docker)
	if s.MemoryBytes != 2<<30 || s.PidsLimit != 512 || s.CPUs != 1.5 {
		t.Fatalf("memory %d pids %d cpus %v", s.MemoryBytes, s.PidsLimit, s.CPUs)
	}
	if d := decision(t, s, IDCellCPUs); d.Effect != "1.50" || d.Reason != "set by the user" {
		t.Fatalf("cpus decision %+v", d)
	}
	// More cores than the host has: capped (Docker refuses more).
	if s := plan(t, glibcAMD64, Options{CellCPUs: 64}, docker); s.CPUs != 4 || !strings.Contains(decision(t, s, IDCellCPUs).Reason, "capped") {
		t.Fatalf("cpus %v %+v", s.CPUs, decision(t, s, IDCellCPUs))
	}
}

func TestLimitsNotEnforcedWhereTheRuntimeCannot(t *testing.T) {
	s := plan(t, glibcAMD64, Options{CellMemory: 2 << 30}, dagger)
	if s.MemoryBytes != 0 || s.PidsLimit != 0 || s.CPUs != 0 {
		t.Fatalf("dagger spec claims limits: %d %d %v", s.MemoryBytes, s.PidsLimit, s.CPUs)
	}
	for _, id := range []string{IDCellMemory, IDCellPids, IDCellCPUs} {
		if d := decision(t, s, id); d.Effect != "not-enforced" {
			t.Errorf("%s: %+v", id, d)
		}
	}
}

// TestPtraceOffIsEnforcedOrSaidNotToBe: off asks the runtime to refuse the
// tracing syscalls where it can change the seccomp profile, and says so
// where it cannot; children says what it really allows.
func TestPtraceOffIsEnforcedOrSaidNotToBe(t *testing.T) {
	if s := plan(t, glibcAMD64, Options{Ptrace: PtraceOff}, docker); !s.DenyPtrace || decision(t, s, IDPtrace).Effect != "off" {
		t.Fatalf("docker off: deny %v %+v", s.DenyPtrace, decision(t, s, IDPtrace))
	}
	if s := plan(t, glibcAMD64, Options{Ptrace: PtraceOff}, dagger); s.DenyPtrace || decision(t, s, IDPtrace).Effect != "off-unenforced" {
		t.Fatalf("dagger off: deny %v %+v", s.DenyPtrace, decision(t, s, IDPtrace))
	}
	for _, l := range []PtraceLevel{PtraceChildren, PtraceAttach} {
		if s := plan(t, glibcAMD64, Options{Ptrace: l}, docker); s.DenyPtrace {
			t.Errorf("%s denies ptrace", l)
		}
	}
	if d := decision(t, plan(t, glibcAMD64, Options{Ptrace: PtraceChildren}, docker), IDPtrace); !strings.Contains(d.Reason, "the go command included") || !strings.Contains(d.Reason, "Yama") {
		t.Fatalf("children must say what it allows: %s", d.Reason)
	}
}

// TestStepScopedMounts: the CA bundle is the deps step's alone, and the
// module cache is read-only once deps has verified it.
func TestStepScopedMounts(t *testing.T) {
	s := plan(t, glibcAMD64, Options{CABundle: "/ca.crt"}, docker)
	for _, m := range s.Mounts {
		switch {
		case m.Kind == job.MountFile:
			if m.In(job.StepTest) || m.In(job.StepProbe) || !m.In(job.StepDeps) {
				t.Errorf("CA bundle steps %v", m.Steps)
			}
		case m.Target == ModCacheDir:
			if !m.ReadOnlyIn(job.StepTest) || !m.ReadOnlyIn(job.StepBuild) || m.ReadOnlyIn(job.StepDeps) || m.In(job.StepProbe) {
				t.Errorf("module cache read-only in %v, seen by %v", m.ReadOnlySteps, m.Steps)
			}
		case m.Target == GoCacheDir:
			if m.ReadOnlyIn(job.StepTest) || m.ReadOnlyIn(job.StepBuild) {
				t.Error("the build cache must stay writable")
			}
		}
	}
	if decision(t, s, IDModCacheRO).Effect != "read-only" || decision(t, plan(t, glibcAMD64, Options{}, dagger), IDModCacheRO).Effect != "copied" {
		t.Fatal("modcache-readonly decisions")
	}
}

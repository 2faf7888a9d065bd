package policies

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/matrix"
)

// TestEndpointTraitsPlanEachCellForItsMachine: with an arm64 machine for
// linux/arm64 (--endpoint), its cells are native there: -race on, no
// emulation, limits from its memory and cores; the source reaches it as a
// copy, and the plan says where and why. amd64 cells keep this host.
func TestEndpointTraitsPlanEachCellForItsMachine(t *testing.T) {
	arm := docker
	arm.NativeArch, arm.HostMemoryBytes, arm.HostCPUs = matrix.ARM64, 64<<30, 32
	arm.Endpoint, arm.EndpointWhy, arm.SourceCopied = "ssh://ci@arm-host", "linux/arm64 cells run on the daemon --endpoint linux/arm64=ssh://ci@arm-host names", true
	rt := docker
	rt.Endpoint, rt.EndpointWhy = "default", "no --endpoint for its platform"
	rt.Platforms = map[string]Traits{"linux/arm64": arm}

	a := plan(t, glibcARM64, Options{}, rt)
	if !a.Race || decision(t, a, IDRace).Effect != "on" {
		t.Errorf("arm64 on an arm64 machine: race %v (%+v)", a.Race, decision(t, a, IDRace))
	}
	for _, d := range a.Decisions {
		if d.Policy == IDEmulation {
			t.Errorf("arm64 on an arm64 machine is emulated: %+v", d)
		}
	}
	if d := decision(t, a, IDEndpoint); d.Effect != "ssh://ci@arm-host" || !strings.Contains(d.Reason, "--endpoint linux/arm64=ssh://ci@arm-host") || !strings.Contains(d.Reason, "its machine: arm64, 32 cores, 64.0GiB") {
		t.Errorf("endpoint decision %+v", d)
	}
	if d := decision(t, a, IDSource); !strings.Contains(d.Reason, "copied through the Engine API into a volume of the daemon at ssh://ci@arm-host") {
		t.Errorf("source decision %+v", d)
	}
	if a.CPUs != 32 || a.MemoryBytes != 48<<30 {
		t.Errorf("limits from the arm64 machine: %v cores, %d bytes", a.CPUs, a.MemoryBytes)
	}

	x := plan(t, glibcAMD64, Options{}, rt)
	if d := decision(t, x, IDEndpoint); d.Effect != "default" || !strings.Contains(decision(t, x, IDSource).Reason, "mounted read-only") {
		t.Errorf("amd64 cell: %+v", x.Decisions)
	}
	if x.CPUs != 4 {
		t.Errorf("amd64 limits: %v cores", x.CPUs)
	}

	// The same arm64 cell without an endpoint: emulated, no -race, and no
	// endpoint decision (one local daemon says nothing of it).
	e := plan(t, glibcARM64, Options{}, docker)
	if e.Race || decision(t, e, IDEmulation).Effect != "qemu" {
		t.Errorf("arm64 under qemu: race %v", e.Race)
	}
	for _, d := range e.Decisions {
		if d.Policy == IDEndpoint {
			t.Errorf("one local daemon, yet %+v", d)
		}
	}
}

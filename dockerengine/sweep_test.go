package dockerengine

import (
	"os"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
)

func TestDeadNeedsProof(t *testing.T) {
	self, ok := ProcessLabel(os.Getpid())
	if !ok || dead(self) {
		t.Fatalf("this process %q must not be dead", self)
	}
	f := strings.Split(self, ":")
	if len(f) != 3 {
		t.Fatalf("label %q: want pid:start:pidns", self)
	}
	pid, start, ns := f[0], f[1], f[2]
	if !dead(pid + ":" + start + "1:" + ns) {
		t.Fatal("a pid with another start time is another process: dead")
	}
	if !dead("999999999:1:" + ns) {
		t.Fatal("an absent process of this namespace is dead")
	}
	// What cannot be checked from here is never taken for dead: another
	// PID namespace (a CI runner in a container sharing the host name and
	// the daemon), an older label without a namespace, garbage.
	for _, l := range []string{pid + ":0:1" + ns, "999999999:1:1", pid + ":0", "", "x:y:" + ns} {
		if dead(l) {
			t.Errorf("%q taken for dead", l)
		}
	}
	l := map[string]string{LabelRun: "r", LabelHost: "h", LabelPID: self}
	if stale(l, "h") {
		t.Fatal("a live run is not stale")
	}
	l[LabelPID] = pid + ":0:" + ns
	if !stale(l, "h") || stale(l, "other-host") {
		t.Fatal("a dead run is stale on its own host only")
	}
	l[LabelPID] = pid + ":0:1" + ns
	if stale(l, "h") {
		t.Fatal("a run of another PID namespace is not stale")
	}
}

func TestCleanable(t *testing.T) {
	self, _ := ProcessLabel(os.Getpid())
	f := strings.Split(self, ":")
	deadHere := "1:0:" + f[2]
	otherNS := f[0] + ":0:1" + f[2]
	c := func(host, pid, state string) container.Summary {
		return container.Summary{State: state, Labels: map[string]string{LabelRun: "other", LabelHost: host, LabelPID: pid}}
	}
	for _, tc := range []struct {
		c         container.Summary
		all, want bool
	}{
		{c("h", self, container.StateRunning), true, false},     // a live run of this host
		{c("h", deadHere, container.StateRunning), false, true}, // a dead one
		{c("h", otherNS, container.StateRunning), false, false}, // another namespace: cannot tell
		{c("h", otherNS, container.StateRunning), true, true},   // --all
		{c("h", "1:0", container.StateRunning), false, false},   // an older label
		{c("elsewhere", deadHere, container.StateRunning), false, false},
		{c("elsewhere", deadHere, container.StateRunning), true, true},
		{c("elsewhere", deadHere, container.StateExited), false, true},
		{container.Summary{State: container.StateRunning, Labels: map[string]string{LabelRun: "mine"}}, true, false},
	} {
		if got := cleanable(tc.c, "h", "mine", tc.all); got != tc.want {
			t.Errorf("%+v all=%v: %v, want %v", tc.c.Labels, tc.all, got, tc.want)
		}
	}
}

// A scope matches its own volumes as a whole name part, never another
// scope it is a prefix of.
func TestInScope(t *testing.T) {
	for name, want := range map[string]bool{
		"parity-ab-go1.27.1-musl-amd64-gocache":    true,
		"parity-ab-go1.26.8-glibc-arm64-gomod":     true,
		"parity-abc-go1.27.1-musl-amd64-gocache":   false,
		"parity-ab-cd-go1.27.1-musl-amd64-gocache": false,
		"parity-ab-": false,
		"other-parity-ab-go1.27.1-musl-amd64-gomod": false,
		"parity-ab-gomod":                 true, // the project's module cache
		"parity-abc-gomod":                false,
		"parity-ab-std-0123abcd":          true,  // a run's own seed
		"parity-std-0123abcd":             false, // the machine's seed: in no scope
		"parity-ab-gomod-view-r1-1":       false, // a run's view: swept with the run
		"parity-ab-gomod-view-r1-1-upper": false,
	} {
		if got := InScope(name, "parity-ab"); got != want {
			t.Errorf("InScope(%q, parity-ab) = %v", name, got)
		}
	}
}

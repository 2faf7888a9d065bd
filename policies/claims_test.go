package policies

import (
	"regexp"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// measured are probe readings from real runs: Docker's from the
// integration tests (integration/fixture_test.go checks them on every CI
// run); Dagger's measured on a v0.21.8 engine with Parity's own module
// (2026-11-27): NoNewPrivs 0 in every cell (Dagger has no switch for it),
// uid 65534, and uid 0 with every capability under attach-insecure.
var measured = map[string]map[PtraceLevel]map[string]string{
	"docker": {
		PtraceAttach:   {"uid": "65534", "NoNewPrivs": "1", "rootfs": "readonly", "CapEff": "0000000000000000"},
		PtraceChildren: {"uid": "65534", "NoNewPrivs": "1", "rootfs": "readonly", "CapEff": "0000000000000000"},
		PtraceOff:      {"uid": "65534", "NoNewPrivs": "1", "rootfs": "readonly", "CapEff": "0000000000000000"},
	},
	"dagger": {
		PtraceAttach:   {"uid": "0", "NoNewPrivs": "0", "rootfs": "writable"},
		PtraceChildren: {"uid": "65534", "NoNewPrivs": "0", "rootfs": "readonly", "CapEff": "0000000000000000"},
		PtraceOff:      {"uid": "65534", "NoNewPrivs": "0", "rootfs": "readonly", "CapEff": "0000000000000000"},
	},
}

// TestClaimsAreMeasured: what a Spec promises is what the probe reads on
// the runtime it was planned for.
func TestClaimsAreMeasured(t *testing.T) {
	for _, rt := range []Traits{docker, dagger} {
		for level, probe := range measured[rt.Name] {
			s := planWith(t, rt, level)
			for k, want := range Claims(s) {
				if probe[k] != want {
					t.Errorf("%s --ptrace=%s: the Spec claims %s=%s, the probe measured %q", rt.Name, level, k, want, probe[k])
				}
			}
		}
	}
}

var (
	uidClaim = regexp.MustCompile(`\buid (\d+)`)
	nnpClaim = regexp.MustCompile(`(\bno )?no-new-privileges`)
)

// TestDecisionsTellTheTruth: no decision says something about the user,
// no-new-privileges or the root filesystem that the Spec's claims (and so
// the probe) contradict — the decisions of one cell agree with each other
// and with the runtime.
func TestDecisionsTellTheTruth(t *testing.T) {
	for _, rt := range []Traits{docker, dagger} {
		for level := range measured[rt.Name] {
			s := planWith(t, rt, level)
			c := Claims(s)
			for _, d := range s.Decisions {
				where := rt.Name + " --ptrace=" + string(level) + " " + d.Policy + ": " + d.Reason
				for _, m := range uidClaim.FindAllStringSubmatch(d.Reason, -1) {
					if m[1] != c["uid"] {
						t.Errorf("%s\n  says uid %s; steps run as uid %s", where, m[1], c["uid"])
					}
				}
				if strings.Contains(d.Reason, "as root") && c["uid"] != "0" {
					t.Errorf("%s\n  says root; steps run as uid %s", where, c["uid"])
				}
				for _, m := range nnpClaim.FindAllStringSubmatch(d.Reason, -1) {
					if says := m[1] == ""; says != (c["NoNewPrivs"] == "1") {
						t.Errorf("%s\n  claims no-new-privileges=%v; NoNewPrivs is %s", where, says, c["NoNewPrivs"])
					}
				}
				if strings.Contains(d.Reason, "mounted read-only; only /tmp") && c["rootfs"] != "readonly" {
					t.Errorf("%s\n  says the root is read-only; it is %s", where, c["rootfs"])
				}
				if strings.Contains(d.Reason, "to whom the image's files are read-only") && c["uid"] == "0" {
					t.Errorf("%s\n  says a non-root uid; steps run as root", where)
				}
			}
		}
	}
}

func planWith(t *testing.T, rt Traits, level PtraceLevel) job.Spec {
	t.Helper()
	s, err := Plan(matrix.Cell{Go: "1.27.1", Libc: matrix.Glibc, Arch: matrix.AMD64}, matrix.Builtin(), Options{Ptrace: level}, rt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

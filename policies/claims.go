package policies

import (
	"strings"

	"github.com/parity-ci/parity/job"
)

// Claims are the probe's readings (probe.Script's keys) that a cell's Spec,
// and so its decisions, promise: who the steps run as, whether
// no-new-privileges is set, whether tests can write the image, which
// capabilities they hold. Tests compare them with what the probe measured
// on each runtime, so a decision cannot claim what the runtime does not do.
func Claims(s job.Spec) map[string]string {
	c := map[string]string{
		"uid":        strings.SplitN(s.User, ":", 2)[0],
		"NoNewPrivs": "0",
		"rootfs":     "readonly", // read-only, or not writable by a non-root uid
		"CapEff":     "0000000000000000",
	}
	if s.NoNewPrivileges {
		c["NoNewPrivs"] = "1"
	}
	if s.InsecureRoot {
		c["uid"] = "0"
		delete(c, "CapEff") // every capability the engine holds: not fixed
		if !s.ReadOnlyRootfs {
			c["rootfs"] = "writable"
		}
	}
	return c
}

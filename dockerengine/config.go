package dockerengine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/parity-ci/parity/job"
)

// Labels mark what Parity creates, so a sweep can find leftovers.
const (
	LabelRun  = "dev.parity.run"
	LabelCell = "dev.parity.cell"
	LabelStep = "dev.parity.step"
)

// cpuMarker ends stderr with the container's cgroup CPU time, in µs.
const cpuMarker = "@@parity-cpu-usec"

// cpuWrapper runs the step's argv, then prints the CPU time its cgroup
// accounted (v2 cpu.stat, or v1 cpuacct.usage in ns): the only place that
// counts every process of the step, measured before the cgroup goes away.
const cpuWrapper = `"$@"; rc=$?
u=$(sed -n 's/^usage_usec //p' /sys/fs/cgroup/cpu.stat 2>/dev/null)
if [ -z "$u" ]; then
  n=$(cat /sys/fs/cgroup/cpuacct/cpuacct.usage 2>/dev/null || cat /sys/fs/cgroup/cpu,cpuacct/cpuacct.usage 2>/dev/null)
  [ -n "$n" ] && u=$((n / 1000))
fi
printf '\n%s %s\n' '` + cpuMarker + `' "$u" >&2
exit $rc`

// containerConfig maps one step of a Spec onto Docker's container model.
// Pure, so the mapping is tested without a daemon.
func containerConfig(s job.Spec, st job.Step, image, sourceDir, runID string) (*container.Config, *container.HostConfig) {
	user := s.User
	if st.Root || s.InsecureRoot {
		user = "0:0"
	}
	cfg := &container.Config{
		Image:      image,
		Cmd:        append([]string{"sh", "-c", cpuWrapper, "sh"}, st.Args...),
		Env:        mergeEnv(s.Env, st.Env),
		User:       user,
		WorkingDir: s.Workdir,
		Labels:     map[string]string{LabelRun: runID, LabelCell: s.Cell.Key(), LabelStep: string(st.Name)},
	}
	hc := &container.HostConfig{
		NetworkMode: "none",
		Tmpfs:       map[string]string{},
	}
	if st.Network {
		hc.NetworkMode = "bridge"
	}
	prepare := st.Root && !s.InsecureRoot
	for _, m := range s.Mounts {
		if prepare && m.Kind != job.MountTmpfs {
			// Image preparation needs neither source nor caches, and a
			// mount would leave its mountpoint in the committed image.
			continue
		}
		switch m.Kind {
		case job.MountTmpfs:
			// Docker's tmpfs is noexec unless told otherwise, and go test
			// executes its test binaries from here.
			hc.Tmpfs[m.Target] = fmt.Sprintf("rw,exec,nosuid,nodev,mode=1777,size=%d", m.SizeBytes)
		case job.MountSource:
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: sourceDir, Target: m.Target, ReadOnly: m.ReadOnly})
		case job.MountCache:
			hc.Mounts = append(hc.Mounts, cacheMount(m))
		case job.MountFile:
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.HostPath, Target: m.Target, ReadOnly: true})
		}
	}
	if prepare {
		// Image preparation (a package install): Docker's default privileges
		// and a writable root, since the result is committed as an image.
		return cfg, hc
	}
	hc.ReadonlyRootfs = s.ReadOnlyRootfs
	if s.InsecureRoot {
		hc.Privileged = true
		return cfg, hc
	}
	hc.CapDrop = []string{"ALL"}
	hc.CapAdd = slices.Clone(s.Capabilities)
	if s.NoNewPrivileges {
		hc.SecurityOpt = []string{"no-new-privileges"}
	}
	return cfg, hc
}

// chownConfig makes fresh cache volumes belong to the cell's user: a new
// named volume is owned by root, and the steps do not run as root.
func chownConfig(s job.Spec, image, runID string) (*container.Config, *container.HostConfig, bool) {
	var dirs []string
	var mounts []mount.Mount
	owner := ""
	for _, m := range s.Mounts {
		if m.Kind == job.MountCache && m.Owner != "" {
			dirs = append(dirs, m.Target)
			mounts = append(mounts, cacheMount(m))
			owner = m.Owner
		}
	}
	if len(dirs) == 0 || s.InsecureRoot {
		return nil, nil, false
	}
	cfg := &container.Config{
		Image:  image,
		Cmd:    append([]string{"chown", owner}, dirs...),
		User:   "0:0",
		Labels: map[string]string{LabelRun: runID, LabelCell: s.Cell.Key(), LabelStep: "chown"},
	}
	hc := &container.HostConfig{
		NetworkMode:    "none",
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		CapAdd:         []string{"CHOWN"},
		SecurityOpt:    []string{"no-new-privileges"},
		Mounts:         mounts,
	}
	return cfg, hc, true
}

// cacheMount never copies the image's directory into a fresh volume: that
// copy would also reset the volume's owner to the image directory's.
func cacheMount(m job.Mount) mount.Mount {
	return mount.Mount{Type: mount.TypeVolume, Source: m.Name, Target: m.Target, VolumeOptions: &mount.VolumeOptions{NoCopy: true}}
}

// mergeEnv returns base with over's keys replacing base's.
func mergeEnv(base, over []string) []string {
	out := make([]string, 0, len(base)+len(over))
	key := func(kv string) string { k, _, _ := strings.Cut(kv, "="); return k }
	for _, kv := range base {
		if !slices.ContainsFunc(over, func(o string) bool { return key(o) == key(kv) }) {
			out = append(out, kv)
		}
	}
	return append(out, over...)
}

// splitCPU removes the wrapper's marker from stderr and returns the CPU
// seconds it reported (0 when the step was killed before printing it).
func splitCPU(stderr string) (string, float64) {
	i := strings.LastIndex(stderr, "\n"+cpuMarker+" ")
	if i < 0 {
		return stderr, 0
	}
	var usec int64
	fmt.Sscanf(strings.TrimSpace(stderr[i+len(cpuMarker)+2:]), "%d", &usec)
	return stderr[:i], float64(usec) / 1e6
}

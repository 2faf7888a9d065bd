package dockerengine

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
)

// Labels mark what Parity creates, so a sweep can find leftovers: the run,
// and the host and process that made it, so a later run (or parity clean)
// can tell a dead run's containers from a live one's.
const (
	LabelRun  = "dev.parity.run"
	LabelCell = "dev.parity.cell"
	LabelStep = "dev.parity.step"
	LabelHost = "dev.parity.host"
	LabelPID  = "dev.parity.pid" // "<pid>:<start time in clock ticks>"
	// LabelEndpoint names the endpoint (Endpoint.String) whose engine made
	// the container: where a cell was placed, as the daemon records it.
	LabelEndpoint = "dev.parity.endpoint"
)

// owner identifies the run whose containers these are, and the endpoint
// that made them.
type owner struct {
	run, host, pid, endpoint string
}

func (o owner) labels(cell, step string) map[string]string {
	l := map[string]string{LabelRun: o.run, LabelCell: cell, LabelStep: step}
	if o.host != "" {
		l[LabelHost], l[LabelPID] = o.host, o.pid
	}
	if o.endpoint != "" {
		l[LabelEndpoint] = o.endpoint
	}
	return l
}

// stepMarker ends stderr with what the step's cgroup accounted, read by the
// wrapper after the command: CPU time in µs and how many forks the pids
// limit refused. A process the command left behind can print after the
// wrapper, so text proves nothing by itself: the wrapper reads a random
// nonce from its stdin (written by Parity after the start, gone before the
// command runs, never in an argument, the environment or a file a test can
// read) and puts it in its marker; only the marker with the step's nonce
// counts.
const stepMarker = "@@parity-step"

// stepWrapper reads the nonce, runs the step's argv (stdin /dev/null), then
// prints the marker from the cgroup files (v2 at the root of the
// container's cgroup namespace; v1 per controller): the cgroup's own
// counters, which count every process of the step, measured before the
// cgroup goes away. Builtins only: a step that used up its process limit
// leaves no room for a fork.
const stepWrapper = `IFS= read -r nonce || nonce=
"$@" </dev/null; rc=$?
u= p=
{ read -r k p </sys/fs/cgroup/pids.events || read -r k p </sys/fs/cgroup/pids/pids.events; } 2>/dev/null
if { read -r k u </sys/fs/cgroup/cpu.stat; } 2>/dev/null && [ "$k" = usage_usec ]; then :
elif { read -r n </sys/fs/cgroup/cpuacct/cpuacct.usage || read -r n </sys/fs/cgroup/cpu,cpuacct/cpuacct.usage; } 2>/dev/null; then u=$((n / 1000))
else u=
fi
printf '\n%s %s cpu-usec=%s pids-max=%s\n' '` + stepMarker + `' "$nonce" "$u" "$p" >&2
exit $rc`

// containerConfig maps one step of a Spec onto Docker's container model.
// Mounts of this host's files are binds, or on a remote daemon (sent not
// nil) the volumes holding their copies; views maps a cache volume to the
// run's view of it (see views.go): a step the mount's ViewSteps list mounts
// the view instead of the volume. Pure, so the mapping is tested without a
// daemon.
func containerConfig(s job.Spec, st job.Step, image, sourceDir string, own owner, views map[string]string, sent *delivered) (*container.Config, *container.HostConfig, error) {
	user := s.User
	if st.Root || s.InsecureRoot {
		user = "0:0"
	}
	cfg := &container.Config{
		Image:      image,
		Cmd:        append([]string{"sh", "-c", stepWrapper, "sh"}, st.Args...),
		Env:        mergeEnv(s.Env, st.Env),
		User:       user,
		WorkingDir: s.Workdir,
		Labels:     own.labels(s.Cell.Key(), string(st.Name)),
	}
	hc := &container.HostConfig{
		NetworkMode: "none",
		Tmpfs:       map[string]string{},
	}
	limit(s, hc)
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
		if !m.In(st.Name) {
			continue
		}
		ro := m.ReadOnlyIn(st.Name)
		switch m.Kind {
		case job.MountTmpfs:
			// Docker's tmpfs is noexec unless told otherwise, and go test
			// executes its test binaries from here.
			hc.Tmpfs[m.Target] = fmt.Sprintf("rw,exec,nosuid,nodev,mode=1777,size=%d", m.SizeBytes)
		case job.MountSourceCopy:
			// The step copies the source in (job.SourceCopyArgs); the kept
			// files are bound read-only on top first, from the host source.
			hc.Tmpfs[m.Target] = fmt.Sprintf("rw,exec,nosuid,nodev,mode=1777,size=%d", m.SizeBytes)
			for _, f := range m.Keep {
				if _, err := os.Stat(filepath.Join(sourceDir, f)); err != nil {
					continue
				}
				if sent != nil {
					hc.Mounts = append(hc.Mounts, sent.file(sent.source, f, path.Join(m.Target, f)))
					continue
				}
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: filepath.Join(sourceDir, f), Target: path.Join(m.Target, f), ReadOnly: true})
			}
		case job.MountSource:
			if sent != nil {
				hc.Mounts = append(hc.Mounts, sent.dir(sent.source, m.Target, ro))
				continue
			}
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: sourceDir, Target: m.Target, ReadOnly: ro})
		case job.MountCache:
			cm := cacheMount(m)
			if m.ViewIn(st.Name) {
				v, ok := views[m.Name]
				if !ok {
					return nil, nil, fmt.Errorf("docker: no view of cache volume %s for %s", m.Name, st.Name)
				}
				cm.Source = v
			}
			cm.ReadOnly = ro
			hc.Mounts = append(hc.Mounts, cm)
		case job.MountFile, job.MountImagePath: // image paths: copied to HostPath by Start
			if sent != nil {
				// A copy in volume m.Name (deliver), holding the file under
				// its own name, or the directory's content.
				if m.Kind == job.MountImagePath && m.Dir {
					hc.Mounts = append(hc.Mounts, sent.dir(m.Name, m.Target, true))
				} else {
					hc.Mounts = append(hc.Mounts, sent.file(m.Name, path.Base(m.Target), m.Target))
				}
				continue
			}
			hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.HostPath, Target: m.Target, ReadOnly: true})
		}
	}
	if prepare {
		// Image preparation (a package install): Docker's default privileges
		// and a writable root, since the result is committed as an image.
		return cfg, hc, nil
	}
	hc.ReadonlyRootfs = s.ReadOnlyRootfs
	if s.InsecureRoot {
		hc.Privileged = true
		return cfg, hc, nil
	}
	hc.CapDrop = []string{"ALL"}
	hc.CapAdd = slices.Clone(s.Capabilities)
	if s.NoNewPrivileges {
		hc.SecurityOpt = []string{"no-new-privileges"}
	}
	if s.DenyPtrace {
		prof, err := noPtraceProfile()
		if err != nil {
			return nil, nil, err
		}
		hc.SecurityOpt = append(hc.SecurityOpt, "seccomp="+prof)
	}
	return cfg, hc, nil
}

// limit applies the cell's resource limits to any of its containers. Swap
// equals memory (none extra), /dev/shm is capped, and no log is kept by the
// daemon: Parity reads output by attaching, so nothing grows on the host.
func limit(s job.Spec, hc *container.HostConfig) {
	if s.MemoryBytes > 0 {
		hc.Memory, hc.MemorySwap = s.MemoryBytes, s.MemoryBytes
	}
	if s.PidsLimit > 0 {
		hc.PidsLimit = &s.PidsLimit
	}
	if s.CPUs > 0 {
		hc.NanoCPUs = int64(s.CPUs * 1e9)
	}
	hc.ShmSize = policies.ShmBytes
	hc.LogConfig = container.LogConfig{Type: "none"}
}

// chownConfig makes fresh cache volumes, and the run's views of them,
// belong to the cell's user: a new named volume is owned by root, and the
// steps do not run as root. Only the top directory of each.
func chownConfig(s job.Spec, image string, own owner, views map[string]string) (*container.Config, *container.HostConfig, bool) {
	var dirs []string
	var mounts []mount.Mount
	owner := ""
	for _, m := range s.Mounts {
		if m.Kind != job.MountCache || m.Owner == "" {
			continue
		}
		dirs = append(dirs, m.Target)
		mounts = append(mounts, cacheMount(m))
		owner = m.Owner
		if v, ok := views[m.Name]; ok {
			vm := cacheMount(m)
			vm.Source, vm.Target = v, path.Join("/parity-views", m.Target)
			dirs = append(dirs, vm.Target)
			mounts = append(mounts, vm)
		}
	}
	if len(dirs) == 0 || s.InsecureRoot {
		return nil, nil, false
	}
	cfg := &container.Config{
		Image:  image,
		Cmd:    append([]string{"chown", owner}, dirs...),
		User:   "0:0",
		Labels: own.labels(s.Cell.Key(), "chown"),
	}
	hc := &container.HostConfig{
		NetworkMode:    "none",
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		CapAdd:         []string{"CHOWN"},
		SecurityOpt:    []string{"no-new-privileges"},
		Mounts:         mounts,
	}
	limit(s, hc)
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

// stepStats is what the wrapper's marker reported.
type stepStats struct {
	cpuSeconds float64
	pidsMax    int64 // forks refused by the pids limit
	found      bool  // false: the wrapper never got to print (PID 1 died)
}

// splitMarker removes the wrapper's marker, the one that carries the step's
// nonce, from stderr and parses it. Markers without it were printed by the
// step's processes and stay in stderr as text.
func splitMarker(stderr, nonce string) (string, stepStats) {
	head := "\n" + stepMarker + " " + nonce + " "
	i := strings.LastIndex(stderr, head)
	if nonce == "" || i < 0 {
		return stderr, stepStats{}
	}
	st := stepStats{found: true}
	line, rest, _ := strings.Cut(stderr[i+len(head):], "\n")
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "cpu-usec":
			st.cpuSeconds = float64(n) / 1e6
		case "pids-max":
			st.pidsMax = n
		}
	}
	return stderr[:i] + rest, st
}

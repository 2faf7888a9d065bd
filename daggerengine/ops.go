package daggerengine

import (
	"strings"

	"github.com/parity-ci/parity/job"
)

// op is one call on a Dagger container. The Spec is first turned into a list
// of ops (pure, tested without an engine), then applied to the SDK.
type op struct {
	kind     opKind
	path     string
	value    string
	args     []string
	size     int
	readOnly bool
	owner    string
	insecure bool
}

type opKind string

const (
	opEnv         opKind = "env"
	opMountSource opKind = "mount-source"
	opMountTemp   opKind = "mount-temp"
	opMountCache  opKind = "mount-cache"
	opMountFile   opKind = "mount-file"
	opWorkdir     opKind = "workdir"
	opUser        opKind = "user"
	opExec        opKind = "exec"
)

// baseOps prepare a cell's container before any step: environment, mounts,
// working directory. Dagger has no read-only root filesystem and no per-step
// network switch; the policies already chose a non-root user and GOPROXY=off
// for that, and said so in the decisions.
func baseOps(s job.Spec) []op {
	var ops []op
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		ops = append(ops, op{kind: opEnv, path: k, value: v})
	}
	for _, m := range s.Mounts {
		switch m.Kind {
		case job.MountSource:
			ops = append(ops, op{kind: opMountSource, path: m.Target, readOnly: m.ReadOnly})
		case job.MountTmpfs:
			ops = append(ops, op{kind: opMountTemp, path: m.Target, size: int(m.SizeBytes)})
		case job.MountCache:
			owner := m.Owner
			if s.InsecureRoot {
				owner = ""
			}
			ops = append(ops, op{kind: opMountCache, path: m.Target, value: m.Name, owner: owner})
		case job.MountFile:
			ops = append(ops, op{kind: opMountFile, path: m.Target, value: m.HostPath})
		}
	}
	return append(ops, op{kind: opWorkdir, path: s.Workdir})
}

// stepOps run one step: its user, its extra environment, then the command.
// Output of a failing command is kept (Expect: any) so failing tests report.
func stepOps(s job.Spec, st job.Step) []op {
	user := s.User
	if st.Root || s.InsecureRoot {
		user = "0:0"
	}
	ops := []op{{kind: opUser, value: user}}
	for _, kv := range st.Env {
		k, v, _ := strings.Cut(kv, "=")
		ops = append(ops, op{kind: opEnv, path: k, value: v})
	}
	return append(ops, op{kind: opExec, args: st.Args, insecure: s.InsecureRoot})
}

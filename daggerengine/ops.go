package daggerengine

import (
	"path"
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
	stdout   string // exec: the file the wrapper sends its stdout to, "" for the engine's own capture
}

type opKind string

const (
	opEnv             opKind = "env"
	opMountSource     opKind = "mount-source"
	opMountTemp       opKind = "mount-temp"
	opMountCache      opKind = "mount-cache"
	opMountFile       opKind = "mount-file"
	opMountSourceFile opKind = "mount-source-file" // value is the file's path in the source
	opMountSecret     opKind = "mount-secret"      // value names the secret (secretNetrc)
	opSecretEnv       opKind = "secret-env"        // path is the variable, value names the secret
	opUserDir         opKind = "user-dir"          // an empty directory of the container's own layer, owned by owner
	opWorkdir         opKind = "workdir"
	opUser            opKind = "user"
	opExec            opKind = "exec"
	opUnmount         opKind = "unmount" // WithoutMount(path)
)

// Names of the secrets an Engine may hold; ops refer to them by name so the
// op list stays plain data.
const (
	secretNetrc    = "netrc"
	secretGitToken = "git-token"
)

// Where the deps step finds its credentials. The netrc is outside /tmp
// (HOME) so it never mixes with what the step writes; NETRC points the go
// command at it.
const (
	netrcPath   = "/run/parity/netrc"
	gitTokenVar = "PARITY_GIT_TOKEN"
)

// Where the test step's stdout goes: a file of the step's own layer (the
// wrapper redirects it), read back by export and parsed as a stream. The
// engine would otherwise hold the whole `go test -json` stream as one
// string, send it as one GraphQL answer, and log it to the CLI as telemetry
// (measured on v0.21.8: 50 MiB of test output took the CLI to 2.3 GB
// resident; the exec's own RedirectStdout still logs it).
const (
	testOutDir = "/parity-out"
	testStdout = testOutDir + "/stdout"
)

// credentials says which private-module credentials the deps step gets:
// which, never their values.
type credentials struct {
	netrc    bool
	gitToken bool
	gitHost  string // the only host the token is offered to
}

// names are what the deps-env decision lists.
func (c credentials) names() []string {
	var n []string
	if c.netrc {
		n = append(n, "NETRC (secret)")
	}
	if c.gitToken {
		n = append(n, "git token for "+c.gitHost+" (secret)")
	}
	return n
}

// baseOps prepare a cell's container before any step: environment, mounts,
// working directory. Dagger has no read-only root filesystem and no per-step
// network switch; the policies already chose a non-root user and GOPROXY=off
// for that, and said so in the decisions. Mounts that only some steps see
// are left to stepOps.
func baseOps(s job.Spec) []op {
	var ops []op
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		ops = append(ops, op{kind: opEnv, path: k, value: v})
	}
	for _, m := range s.Mounts {
		if len(m.Steps) == 0 {
			ops = append(ops, mountOps(s, m)...)
		}
	}
	return append(ops, op{kind: opWorkdir, path: s.Workdir})
}

func mountOps(s job.Spec, m job.Mount) []op {
	switch m.Kind {
	case job.MountSource:
		return []op{{kind: opMountSource, path: m.Target, readOnly: m.ReadOnly}}
	case job.MountTmpfs:
		return []op{{kind: opMountTemp, path: m.Target, size: int(m.SizeBytes)}}
	case job.MountCache:
		owner := m.Owner
		if s.InsecureRoot {
			owner = ""
		}
		return []op{{kind: opMountCache, path: m.Target, value: m.Name, owner: owner}}
	case job.MountFile:
		return []op{{kind: opMountFile, path: m.Target, value: m.HostPath}}
	case job.MountImagePath:
		return imagePathOps(m)
	case job.MountSourceCopy:
		// A directory the step copies the source into: Dagger mounts tmpfs
		// root-owned, 0755 (measured), so it is a directory of the step's
		// own layer owned by the step's user. The kept files (present ones:
		// Start drops missing) come from the source on top, owned by root,
		// so the non-root steps cannot write them.
		ops := []op{{kind: opUserDir, path: m.Target, owner: s.User}}
		for _, f := range m.Keep {
			ops = append(ops, op{kind: opMountSourceFile, path: path.Join(m.Target, f), value: f})
		}
		return ops
	}
	return nil
}

// stepOps run one step: its user, its own mounts and environment, the
// deps step's credentials, then the command under the timing wrapper.
// go test's 1 (tests failed) is a result the engine may cache, unless the
// run did not complete; any other failure is not (timeWrapper). call is
// the call's nonce: the deps step carries it, so the engine never replays
// it from an earlier call and every call verifies the module cache again.
func stepOps(s job.Spec, st job.Step, cred credentials, call string) []op {
	user := s.User
	if st.Root || s.InsecureRoot {
		user = "0:0"
	}
	ops := []op{{kind: opUser, value: user}}
	for _, m := range s.Mounts {
		switch {
		case len(m.Steps) == 0 || !m.In(st.Name):
		case m.Kind == job.MountCache && m.ViewIn(st.Name):
			ops = append(ops, copyOps(s, m, user)...)
		default:
			ops = append(ops, mountOps(s, m)...)
		}
	}
	for _, kv := range st.Env {
		k, v, _ := strings.Cut(kv, "=")
		ops = append(ops, op{kind: opEnv, path: k, value: v})
	}
	if st.Name == job.StepDeps {
		ops = append(ops, op{kind: opEnv, path: callVar, value: call})
		ops = append(ops, credentialOps(cred, user)...)
	}
	stdout := ""
	if st.Name == job.StepTest {
		ops = append(ops, op{kind: opUserDir, path: testOutDir, owner: user})
		stdout = testStdout
	}
	return append(ops, op{kind: opExec, args: wrapTimed(st.Args, keepStatus(st.Name), stdout), insecure: s.InsecureRoot, stdout: stdout})
}

// callVar carries the call's nonce into the deps step.
const callVar = "PARITY_CALL"

// viewStage is where a step that must not write a cache sees its volume,
// only while the cache is copied.
const viewStage = "/parity-stage"

// copyOps give a step a copy of a cache instead of the volume (Dagger
// cannot mount a volume read-only, nor copy-on-write): the volume is
// mounted aside, copied into a directory of the step's own layer at the
// cache's place (no code of the module runs yet), and unmounted before the
// command: what the step writes stays in its own layer, which no later
// step or call reads. The copy is an exec of its own, cached by the engine
// like any other: it carries no nonce, so an unchanged test step is still
// replayed.
func copyOps(s job.Spec, m job.Mount, user string) []op {
	stage := viewStage + m.Target
	mounted := mountOps(s, m)
	mounted[0].path = stage
	return append(mounted,
		op{kind: opUserDir, path: m.Target, owner: user},
		op{kind: opExec, args: []string{"sh", "-c", `cp -a "$1/." "$2/"`, "sh", stage, m.Target}, insecure: s.InsecureRoot},
		op{kind: opUnmount, path: stage})
}

// credentialOps hand the deps step, and only it, the private-module
// credentials: secrets are mounted or set as secret variables, so their
// values are in no layer's environment, no cache key and no report.
func credentialOps(c credentials, user string) []op {
	var ops []op
	if c.netrc {
		ops = append(ops,
			op{kind: opMountSecret, path: netrcPath, value: secretNetrc, owner: user},
			op{kind: opEnv, path: "NETRC", value: netrcPath})
	}
	if c.gitToken {
		// git asks this helper for credentials to c.gitHost only; the helper
		// reads the token from the secret variable when asked.
		helper := `!f() { test "$1" = get || exit 0; echo username=x-access-token; echo "password=$` + gitTokenVar + `"; }; f`
		ops = append(ops,
			op{kind: opSecretEnv, path: gitTokenVar, value: secretGitToken},
			op{kind: opEnv, path: "GIT_CONFIG_COUNT", value: "1"},
			op{kind: opEnv, path: "GIT_CONFIG_KEY_0", value: "credential.https://" + c.gitHost + ".helper"},
			op{kind: opEnv, path: "GIT_CONFIG_VALUE_0", value: helper})
	}
	return ops
}

package policies

import (
	"strings"

	"github.com/parity-ci/parity/job"
)

// CompileMarker starts the lines the compile step prints around each
// target's go test stream: "parity-compile: target GOOS/GOARCH" before it,
// "parity-compile: exit GOOS/GOARCH N" after it (report.CompileTargets
// reads them). Nothing runs in the step, so no test can print them.
const CompileMarker = "parity-compile: "

// CompileScript builds every test package of "$@" (after the targets and
// a "--") for each target with CGO_ENABLED=0: go test -run='^$'
// -exec=true compiles and links each test binary, runs go test's vet
// checks on it, and then runs `true` instead of the binary, so a package
// that does not build is a build-fail event naming it, and nothing of the
// module executes. go's own failures (stderr) join the stream, outside
// any event.
const CompileScript = `set -u
targets=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do targets="$targets $1"; shift; done
[ $# -gt 0 ] && shift
status=0
for t in $targets; do
  echo "` + CompileMarker + `target $t"
  CGO_ENABLED=0 GOOS="${t%/*}" GOARCH="${t#*/}" go test -json -run='^$' -exec=true "$@" 2>&1
  rc=$?
  echo "` + CompileMarker + `exit $t $rc"
  [ "$rc" -eq 0 ] || status=1
done
exit $status`

func (p *planner) compileStep() job.Step {
	args := []string{"sh", "-c", CompileScript, "sh"}
	var names []string
	for _, t := range p.opt.Compile {
		args = append(args, t.String())
		names = append(names, t.String())
	}
	args = append(args, "--")
	if len(p.opt.Tags) > 0 {
		args = append(args, "-tags="+strings.Join(p.opt.Tags, ","))
	}
	args = append(args, p.opt.Packages...)
	p.decide(IDCompile, strings.Join(names, ","), "every test package is built for %s with this cell's go%s, CGO_ENABLED=0, offline (go test -run='^$' -exec=true: compiled, linked and vetted, never run); a package that does not build fails the verdict", strings.Join(names, ", "), p.cell.Go)
	return job.Step{Name: job.StepCompile, Args: args, Env: []string{"GOPROXY=off"}}
}

package job

import (
	"slices"
	"strings"
)

// TestCommand is a test step's `go test` as data. Policies build it for
// the first run; re-runs and experiments change the data (other -run,
// -count, flags, a prelude) and render it again, so whatever wraps the
// command (a writable copy of the source) wraps every re-run too: nothing
// ever rewrites a rendered argv.
type TestCommand struct {
	// Flags are go test's flags in order, -json first; -run is apart.
	Flags []string `json:"flags"`
	// Run is the -run pattern ("" for none).
	Run string `json:"run,omitempty"`
	// Packages are the package patterns of a single go test.
	Packages []string `json:"packages,omitempty"`
	// PerPackage, when set, runs one go test per package, each with its own
	// -run (a re-run's tests are named per package), and fails if any did;
	// Run and Packages are then unused.
	PerPackage []PackageRun `json:"perPackage,omitempty"`
	// Prelude is shell run first (an experiment's export); a non-zero exit
	// ends the step with that status.
	Prelude string `json:"prelude,omitempty"`
	// Copy, when set, runs the command in a writable copy of the source
	// (SourceCopyArgs): --source-mode=copy.
	Copy *SourceCopy `json:"copy,omitempty"`
}

// PackageRun is one package of a per-package test command.
type PackageRun struct {
	Package string `json:"package"`
	Run     string `json:"run"`
	// Flags are added to the command's for this package only (its
	// -shuffle seed).
	Flags []string `json:"flags,omitempty"`
}

// SourceCopy is where a copy-mode step copies the source from and to, and
// which files stay the read-only originals.
type SourceCopy struct {
	From string   `json:"from"`
	To   string   `json:"to"`
	Keep []string `json:"keep,omitempty"`
}

// Clone returns a deep copy: re-runs change their own.
func (c TestCommand) Clone() TestCommand {
	out := c
	out.Flags = slices.Clone(c.Flags)
	out.Packages = slices.Clone(c.Packages)
	out.PerPackage = slices.Clone(c.PerPackage)
	for i := range out.PerPackage {
		out.PerPackage[i].Flags = slices.Clone(c.PerPackage[i].Flags)
	}
	if c.Copy != nil {
		cp := *c.Copy
		cp.Keep = slices.Clone(c.Copy.Keep)
		out.Copy = &cp
	}
	return out
}

// Args renders the command as the argv a runtime runs: plain `go test`
// when it can be, else a POSIX shell script; wrapped in the source copy
// when Copy is set.
func (c TestCommand) Args() []string {
	var argv []string
	switch {
	case len(c.PerPackage) == 0 && c.Prelude == "":
		argv = c.goTest(c.Run, c.Packages)
	default:
		var b strings.Builder
		if c.Prelude != "" {
			b.WriteString(c.Prelude + "\n")
		}
		if len(c.PerPackage) == 0 {
			b.WriteString("exec " + shellJoin(c.goTest(c.Run, c.Packages)))
		} else {
			b.WriteString("rc=0\n")
			for _, p := range c.PerPackage {
				pc := c
				pc.Flags = append(slices.Clone(c.Flags), p.Flags...)
				b.WriteString(shellJoin(pc.goTest(p.Run, []string{p.Package})) + " || rc=1\n")
			}
			b.WriteString("exit $rc")
		}
		argv = []string{"sh", "-c", b.String()}
	}
	if c.Copy != nil {
		argv = SourceCopyArgs(c.Copy.From, c.Copy.To, c.Copy.Keep, argv)
	}
	return argv
}

func (c TestCommand) goTest(run string, pkgs []string) []string {
	args := append([]string{"go", "test"}, c.Flags...)
	if run != "" {
		args = append(args, "-run="+run)
	}
	return append(args, pkgs...)
}

// Flag returns the value of the last -name=value flag, if any.
func (c TestCommand) Flag(name string) (string, bool) {
	v, ok := "", false
	for _, f := range c.Flags {
		if val, found := strings.CutPrefix(f, "-"+name+"="); found {
			v, ok = val, true
		} else if f == "-"+name {
			v, ok = "", true
		}
	}
	return v, ok
}

// WithoutFlags returns the command without the flags named (-name and
// -name=...).
func (c TestCommand) WithoutFlags(names ...string) TestCommand {
	out := c.Clone()
	out.Flags = slices.DeleteFunc(out.Flags, func(f string) bool {
		name, _, _ := strings.Cut(strings.TrimPrefix(f, "-"), "=")
		return slices.Contains(names, name)
	})
	return out
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = ShellQuote(a)
	}
	return strings.Join(q, " ")
}

// ShellQuote quotes s for a POSIX shell where it needs it.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

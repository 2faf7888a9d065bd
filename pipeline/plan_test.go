package pipeline

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
)

var docker = policies.Traits{Name: "docker", ReadOnlyRootfs: true, SingleCapability: true, NetworkPerStep: true, NoNewPrivileges: true, ReadOnlyCaches: true, CacheViews: true, NativeArch: matrix.AMD64}

func inputs(t *testing.T, goMod string, req Request) Inputs {
	t.Helper()
	in, err := req.Inputs([]byte(goMod), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestMakePlanDefaults(t *testing.T) {
	p, err := MakePlan(inputs(t, "module example.com/m\n\ngo 1.26\n", Request{}), docker)
	if err != nil {
		t.Fatal(err)
	}
	if p.Module != "example.com/m" || p.GoLine != "1.26" || p.Pins != "built-in" || len(p.Specs) != 8 {
		t.Fatalf("plan %s %s %s %d specs", p.Module, p.GoLine, p.Pins, len(p.Specs))
	}
	for _, s := range p.Specs {
		if s.NotRunnable != "" {
			t.Fatalf("%s not runnable: %s", s.Cell, s.NotRunnable)
		}
	}
}

func TestMakePlanNotRunnableCells(t *testing.T) {
	p, err := MakePlan(inputs(t, "module m\ngo 1.27.0\n", Request{}), docker)
	if err != nil {
		t.Fatal(err)
	}
	not := 0
	for _, s := range p.Specs {
		if s.NotRunnable != "" {
			not++
			if s.Cell.Go != "1.26.8" {
				t.Fatalf("%s should run", s.Cell)
			}
		}
	}
	if not != 4 {
		t.Fatalf("%d cells not runnable, want the 4 go1.26.8 cells", not)
	}
}

func TestMakePlanBadInput(t *testing.T) {
	other := "sha256:" + strings.Repeat("f", 64)
	for name, tc := range map[string]struct {
		goMod, lock string
		req         Request
		want        string
	}{
		"no go.mod":           {"", "", Request{}, "no go.mod"},
		"empty go.mod":        {"\n", "", Request{}, "go.mod is empty"},
		"empty lock":          {"module m\n", " ", Request{}, "parity.lock.json: empty file"},
		"broken go.mod":       {"module m\ngo: nonsense\n", "", Request{}, "go.mod:"},
		"newer than all":      {"module m\ngo 1.30\n", "", Request{}, "go.mod requires go >= 1.30, newer than every cell's Go (1.27.1, 1.26.8)"},
		"unknown libc":        {"module m\n", "", Request{Libc: []string{"uclibc"}}, `--libc: unknown libc "uclibc"`},
		"unknown arch":        {"module m\n", "", Request{Arch: []string{"mips64"}}, `--arch: unknown arch "mips64"`},
		"empty matrix":        {"module m\n", "", Request{Exclude: []string{"*/*/*"}}, "the matrix is empty"},
		"unpinned lock":       {"module m\n", `{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine"}]}`, Request{}, "is not pinned by digest"},
		"go without pin":      {"module m\n", "", Request{Go: []string{"1.22.0"}}, "no image pinned for go1.22.0/glibc, go1.22.0/musl; pinned: go1.27.1/glibc"},
		"bad duration":        {"module m\n", "", Request{Timeout: "ten minutes"}, `--timeout "ten minutes"`},
		"bad race":            {"module m\n", "", Request{Race: "maybe"}, "--race: bad value"},
		"lock pins only used": {"module m\n", `{"version":1,"pins":[{"go":"1.28.0","libc":"musl","image":"golang:1.28.0-alpine@` + other + `"}]}`, Request{Go: []string{"1.28.0"}}, "no image pinned for go1.28.0/glibc;"},
	} {
		t.Run(name, func(t *testing.T) {
			var goMod, lock []byte // nil: no such file
			if tc.goMod != "" {
				goMod = []byte(tc.goMod)
			}
			if tc.lock != "" {
				lock = []byte(tc.lock)
			}
			in, err := tc.req.Inputs(goMod, lock, "")
			if err == nil {
				_, err = MakePlan(in, docker)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "goroutine") {
				t.Fatal("a stack trace is no error message")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("not one line: %q", err)
			}
		})
	}
	_, err := MakePlan(Inputs{}, docker)
	if !errors.Is(err, ErrNoGoMod) {
		t.Fatal(err)
	}
}

func TestPrePushProfileKeepsHostArch(t *testing.T) {
	p, err := MakePlan(inputs(t, "module m\n", Request{Profile: "pre-push", HostArch: "amd64", Go: []string{"1.27.1"}}), docker)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Specs) != 2 || p.Specs[0].Cell.Arch != matrix.AMD64 || p.Specs[1].Cell.Arch != matrix.AMD64 {
		t.Fatalf("pre-push cells: %d", len(p.Specs))
	}
	if _, err := (Request{Profile: "nightly"}).Inputs([]byte("module m\n"), nil, ""); err == nil {
		t.Fatal("unknown profile accepted")
	}
}

func TestWritePlanShowsWhatDiffers(t *testing.T) {
	p, err := MakePlan(inputs(t, "module example.com/m\ngo 1.26\n", Request{Go: []string{"1.27.1"}, Libc: []string{"musl"}}), docker)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WritePlan(&b, p, docker); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"module example.com/m (go 1.26)", "go1.27.1/musl/amd64", "golang:1.27.1-alpine3.24@sha256:4cb7ac97", "every cell:", "go1.27.1/musl/arm64:", "unsupported VMA range"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
}

// A Go version with no pin is one line naming each pinned pair once, though
// the lock overrides built-in pins and every arch has a cell.
func TestMissingPinIsOneLine(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	lock := `{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine@` + digest + `"}]}`
	in, err := Request{Go: []string{"1.25.0"}}.Inputs([]byte("module m\n"), []byte(lock), "parity.lock.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = MakePlan(in, docker)
	if err == nil || strings.Contains(err.Error(), "\n") || strings.Count(err.Error(), "go1.27.1/musl") != 1 || strings.Count(err.Error(), "go1.25.0/glibc") != 1 {
		t.Fatalf("err = %q", err)
	}
}

// TestPlanNewArches: `parity plan --arch 386,arm,s390x,ppc64le,riscv64`
// shows pinned cells, how each runs and its race and emulation decisions.
func TestPlanNewArches(t *testing.T) {
	p, err := MakePlan(inputs(t, "module example.com/m\ngo 1.26\n", Request{Go: []string{"1.26.8"}, Arch: []string{"386", "arm", "s390x", "ppc64le", "riscv64"}}), docker)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Specs) != 10 {
		t.Fatalf("%d specs, want 2 libcs x 5 arches", len(p.Specs))
	}
	var b bytes.Buffer
	if err := WritePlan(&b, p, docker); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "go1.26.8/glibc/") {
			lines[f[0]] = strings.Join(f, " ")
		}
	}
	for cell, want := range map[string]string{
		"go1.26.8/glibc/386":     "golang:1.26.8-trixie@sha256:3c5d8408c03e8dbaf5dc4fb698d1ba89c669f69daaab6d0fddd929a5e789cf69 native (32-bit) off",
		"go1.26.8/glibc/arm":     "qemu (32-bit) off",
		"go1.26.8/glibc/s390x":   "qemu (big-endian) off",
		"go1.26.8/glibc/ppc64le": "qemu off",
		"go1.26.8/glibc/riscv64": "qemu off",
	} {
		if !strings.Contains(lines[cell], want) {
			t.Errorf("%s row %q lacks %q", cell, lines[cell], want)
		}
	}
	for _, want := range []string{
		"go1.26.8/glibc/386:", "native", "386 runs natively on this amd64 host",
		"the Go race detector does not support linux/386",
		"the Go race detector does not support linux/arm",
		"s390x runs under qemu-user emulation on this amd64 host: slower (",
		"unsupported VMA range",
		"linux/arm/v7 selected from the index",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
}

// TestCompileTargetsInOneNativeCell: --compile builds in one runnable
// cell of the host's arch (newest Go, glibc first), never an emulated one;
// a bad target is one line naming the flag.
func TestCompileTargetsInOneNativeCell(t *testing.T) {
	p, err := MakePlan(inputs(t, "module m\ngo 1.27.0\n", Request{Arch: []string{"s390x", "386", "amd64"}, Compile: []string{"windows/amd64,darwin/arm64"}}), docker)
	if err != nil {
		t.Fatal(err)
	}
	var with []string
	for _, s := range p.Specs {
		for _, st := range s.Steps {
			if st.Name == "compile" {
				with = append(with, s.Cell.String())
			}
		}
	}
	if len(with) != 1 || with[0] != "go1.27.1/glibc/amd64" {
		t.Errorf("compile step in %v, want go1.27.1/glibc/amd64 alone", with)
	}
	p, err = MakePlan(inputs(t, "module m\n", Request{Go: []string{"1.26.8"}, Arch: []string{"s390x", "386"}, Compile: []string{"windows/amd64"}}), docker)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := compileCell([]matrix.Cell{p.Specs[1].Cell, p.Specs[0].Cell}, "", policies.Traits{NativeArch: matrix.AMD64}); !ok || c.Arch != matrix.I386 {
		t.Errorf("without an amd64 cell the native 386 one compiles, got %v", c)
	}
	// With an s390x machine (--endpoint), the s390x cell compiles there natively.
	s390x := policies.Traits{NativeArch: matrix.AMD64, Platforms: map[string]policies.Traits{"linux/s390x": {NativeArch: matrix.S390X}}}
	if c, ok := compileCell([]matrix.Cell{p.Specs[1].Cell, p.Specs[0].Cell}, "", s390x); !ok || c.Arch != matrix.S390X {
		t.Errorf("the cell native on its endpoint compiles, got %v", c)
	}
	if _, err := (Request{Compile: []string{"windows"}}).Inputs([]byte("module m\n"), nil, ""); err == nil || !strings.HasPrefix(err.Error(), "--compile: ") {
		t.Errorf("bad target: %v", err)
	}
}

// TestTmpdirSymlinkOption: --tmpdir-symlink takes all or cell patterns,
// refuses a malformed one and one that names no cell of the matrix.
func TestTmpdirSymlinkOption(t *testing.T) {
	p, err := MakePlan(inputs(t, "module m\n", Request{Go: []string{"1.26.8"}, Libc: []string{"glibc"}, Arch: []string{"amd64", "386"}, TmpdirSymlink: []string{"*/*/386"}}), docker)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Specs {
		want := s.Cell.Arch == matrix.I386
		if got := slices.Contains(s.Env, "TMPDIR="+policies.SymlinkedTmpDir); got != want {
			t.Errorf("%s: symlinked TMPDIR %v, want %v (env %v)", s.Cell, got, want, s.Env)
		}
	}
	in := inputs(t, "module m\n", Request{Go: []string{"1.26.8"}, Arch: []string{"amd64"}, TmpdirSymlink: []string{"all"}})
	if len(in.Policy.TmpdirSymlink) != 1 || in.Policy.TmpdirSymlink[0] != policies.AllCells {
		t.Errorf("all read as %+v", in.Policy.TmpdirSymlink)
	}
	if _, err := MakePlan(inputs(t, "module m\n", Request{Arch: []string{"amd64"}, TmpdirSymlink: []string{"*/*/s390x"}}), docker); err == nil || !strings.HasPrefix(err.Error(), "--tmpdir-symlink */*/s390x: no cell of the matrix matches it") {
		t.Errorf("a pattern naming no cell: %v", err)
	}
	if _, err := (Request{TmpdirSymlink: []string{"amd64"}}).Inputs([]byte("module m\n"), nil, ""); err == nil || !strings.HasPrefix(err.Error(), "--tmpdir-symlink: ") {
		t.Errorf("a malformed pattern: %v", err)
	}
}

package report

import (
	"slices"
	"testing"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/testjson"
)

// Each signature, tried on output as go test prints it: the line comes
// after the usual framing so that findLine's filtering is exercised too.
type signatureCase struct {
	id   string
	line string
	axes []string
	cell Cell // the failing cell; defaults to glibc/amd64 without race
}

var signatureCases = []signatureCase{
	{"toolchain-too-old", "go: go.mod requires go >= 1.27.1 (running go 1.26.8; GOTOOLCHAIN=local)", nil, Cell{}},
	{"race", "WARNING: DATA RACE", []string{AxisRace}, raceCell},
	{"race", "    testing.go:1712: race detected during execution of test", []string{AxisRace}, raceCell},
	{"race-nondeterministic", "WARNING: DATA RACE", nil, raceCell},
	{"race-under-qemu", "FATAL: ThreadSanitizer: unsupported VMA range", nil, Cell{}},
	{"tmpdir-symlink", "    tempdir_test.go:19: t.TempDir() = /proc/self/root/tmp/TestTempDirIsResolved2887746419/001, but it resolves to /tmp/TestTempDirIsResolved2887746419/001", []string{AxisArch}, plainCell},
	{"tmpdir-symlink", "    cwd_test.go:9: Getwd() = /tmp/x, want /proc/self/root/tmp/x", nil, Cell{}},
	{"musl-thread-stack", "SIGSEGV: segmentation violation", []string{AxisLibc}, muslCell},
	{"musl-thread-stack", "signal arrived during cgo execution", []string{AxisLibc}, muslCell},
	{"musl-thread-stack", "signal: segmentation fault", []string{AxisLibc}, muslCell},
	{"musl-lfs64", "/usr/lib/gcc/x86_64-alpine-linux-musl/13.2.1/../../../../x86_64-alpine-linux-musl/bin/ld: sqlite3.o: undefined reference to `pread64'", []string{AxisLibc}, muslCell},
	{"musl-lfs64", "zlib.c:12:9: error: implicit declaration of function 'lseek64'", []string{AxisLibc}, muslCell},
	{"c-build", "/usr/bin/ld: cannot find -lssl: No such file or directory", nil, Cell{}},
	{"c-build", "foo.go:5:10: fatal error: openssl/ssl.h: No such file or directory", nil, Cell{}},
	{"cgo-unavailable", "go: -race requires cgo; enable cgo by setting CGO_ENABLED=1", nil, Cell{}},
	{"cgo-unavailable", `cgo: C compiler "gcc" not found: exec: "gcc": executable file not found in $PATH`, nil, Cell{}},
	{"missing-executable", `    git_test.go:20: exec: "git": executable file not found in $PATH`, nil, Cell{}},
	{"missing-executable", "    run_test.go:9: fork/exec /bin/bash: no such file or directory", nil, Cell{}},
	{"missing-executable", "    script_test.go:31: sh: bash: not found", nil, Cell{}},
	{"tmp-noexec", "fork/exec /tmp/go-build3921/b001/x.test: permission denied", nil, Cell{}},
	{"time-zone", `    tz_test.go:14: unknown time zone America/New_York`, nil, Cell{}},
	{"os-user", "    home_test.go:8: user: unknown userid 1000", nil, Cell{}},
	{"os-user", "    home_test.go:8: user: Current requires cgo or $USER set in environment", nil, Cell{}},
	{"etc-services", "    port_test.go:11: lookup tcp/postgresql: unknown port", nil, Cell{}},
	{"mime-types", `    mime_test.go:9: mime.TypeByExtension(".yaml") = "", want "application/yaml"`, nil, Cell{}},
	{"read-only-fs", "    write_test.go:12: open beside.txt: read-only file system", nil, Cell{}},
	{"no-network", "    net_test.go:14: dial tcp: lookup proxy.golang.org on 127.0.0.11:53: no such host", nil, Cell{}},
	{"no-network", "    net_test.go:14: dial tcp 142.250.1.1:443: connect: network is unreachable", nil, Cell{}},
	{"module-verify", "golang.org/x/sync v0.25.0: dir has been modified (/go/pkg/mod/golang.org/x/sync@v0.25.0)", nil, Cell{}},
	{"test-timeout", "panic: test timed out after 10m0s", nil, Cell{}},
	{"go-stdlib-version", "sv/sv.go:7:20: strings.Lines requires go1.24 or later (module is go1.23)", []string{AxisGo}, plainCell},
	{"go-stdlib-version", "./wg.go:9:5: wg.Go undefined (type sync.WaitGroup has no field or method Go)", []string{AxisGo}, plainCell},
	{"go-stdlib-version", "./lines.go:7:20: undefined: strings.Lines", []string{AxisGo}, plainCell},
	{"unicode-tables", `    uni_test.go:11: unicode.Version = "17.0.0", want "15.0.0"`, []string{AxisGo}, plainCell},
	{"unicode-tables", "    uni_test.go:18: unicode.IsUpper(U+1C89) = true, want false", []string{AxisGo}, plainCell},
	{"float-fma", "    arch_test.go:10: 0.1*10 + -1 = 5.551115123125783e-17, want 0", []string{AxisArch}, arm64Cell},
	{"float-fma", "    stats_test.go:22: mean = 0.30000000000000004, want 0.3", []string{AxisArch}, arm64Cell},
	{"emulation-suspect", "    watch_test.go:14: inotify_init1: function not implemented", []string{AxisArch}, s390xCell},
	{"emulation-suspect", "qemu: uncaught target signal 11 (Segmentation fault) - core dumped", []string{AxisArch}, s390xCell},
	{"unaligned-atomic", "panic: unaligned 64-bit atomic operation", []string{AxisArch}, i386Cell},
	{"unaligned-atomic", "panic: unaligned 64-bit atomic operation", nil, i386Cell},
	{"word-size", "    wrap_test.go:12: Sum(1<<30, 1<<30) = -2147483648, want 2147483648", []string{AxisArch}, i386Cell},
	{"word-size", "    size_test.go:7: unsafe.Sizeof(int(0)) = 4, want 8", []string{AxisArch}, armCell},
	{"byte-order", "    order_test.go:16: header = 0x01020304, want 0x04030201", []string{AxisArch}, s390xCell},
}

var (
	plainCell = Cell{Name: "go1.26.8/glibc/amd64", Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}}
	raceCell  = Cell{Name: "go1.26.8/glibc/amd64", Cell: plainCell.Cell, Race: true}
	muslCell  = Cell{Name: "go1.26.8/musl/amd64", Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}}
	arm64Cell = Cell{Name: "go1.26.8/glibc/arm64", Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM64}}
	i386Cell  = Cell{Name: "go1.26.8/glibc/386", Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.I386}}
	armCell   = Cell{Name: "go1.26.8/glibc/arm", Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.ARM}}
	s390xCell = Cell{Name: "go1.26.8/glibc/s390x", Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.S390X}}
)

func TestSignatures(t *testing.T) {
	for _, c := range signatureCases {
		cell := c.cell
		if cell.Name == "" {
			cell = plainCell
		}
		out := "=== RUN   TestX\n" + c.line + "\n--- FAIL: TestX (0.01s)\n"
		res := Result{Cell: cell.Name, Outcome: testjson.Fail, Output: out}
		got, ok := matchSignatures([]Result{res}, c.axes, map[string]Cell{cell.Name: cell})
		if !ok || got.ID != c.id {
			t.Errorf("%q (axes %v): got %q, want %q", c.line, c.axes, got.ID, c.id)
			continue
		}
		if got.Evidence == "" || got.EvidenceCell != cell.Name || got.Text == "" {
			t.Errorf("%s: cause %+v lacks evidence or text", c.id, got)
		}
	}
}

func TestEverySignatureIsTested(t *testing.T) {
	for _, s := range Signatures {
		if !slices.ContainsFunc(signatureCases, func(c signatureCase) bool { return c.id == s.ID }) {
			t.Errorf("signature %s has no test case", s.ID)
		}
	}
}

// Signatures with an axis condition must not match when the condition
// fails: a float printed by a test failing everywhere is not FMA, and a
// segfault on glibc is not musl's thread stacks.
func TestSignatureConditions(t *testing.T) {
	for _, c := range []struct {
		name, line string
		axes       []string
		cell       Cell
		notID      string
	}{
		{"float without the arch axis", "    x_test.go:3: got 0.30000000000000004", nil, plainCell, "float-fma"},
		{"float on the libc axis", "    x_test.go:3: got 0.30000000000000004", []string{AxisLibc}, muslCell, "float-fma"},
		{"segfault on glibc", "signal: segmentation fault", []string{AxisLibc}, plainCell, "musl-thread-stack"},
		{"race report without -race difference", "WARNING: DATA RACE", nil, raceCell, "race"},
		{"durations are not floats", "--- FAIL: TestX (1.2345s)", []string{AxisArch}, arm64Cell, "float-fma"},
		{"package summary is not a float", "FAIL\texample.com/x\t12.3456s", []string{AxisArch}, arm64Cell, "float-fma"},
		{"stack frames do not name causes", "\t/usr/local/go/src/mime/type.go:120 +0x1d", nil, plainCell, "mime-types"},
		{"word size needs the arch axis", "    wrap_test.go:12: got -2147483648", nil, i386Cell, "word-size"},
		{"word size needs a 32-bit failing cell", "    wrap_test.go:12: got -2147483648", []string{AxisArch}, plainCell, "word-size"},
		{"byte order needs a big-endian failing cell", "    order_test.go:16: header = 0x01020304", []string{AxisArch}, arm64Cell, "byte-order"},
		{"byte order needs the arch axis", "    order_test.go:16: header = 0x01020304", []string{AxisLibc}, s390xCell, "byte-order"},
		{"a float on s390x is FMA, not byte order", "    fma_test.go:3: got 5.551115123125783e-17", []string{AxisArch}, s390xCell, "byte-order"},
		{"ENOSYS on one libc is not emulation", "    x_test.go:3: function not implemented", []string{AxisLibc}, muslCell, "emulation-suspect"},
	} {
		res := Result{Cell: c.cell.Name, Outcome: testjson.Fail, Output: c.line + "\n"}
		if got, ok := matchSignatures([]Result{res}, c.axes, map[string]Cell{c.cell.Name: c.cell}); ok && got.ID == c.notID {
			t.Errorf("%s: matched %s", c.name, got.ID)
		}
	}
}

func TestFirstMessage(t *testing.T) {
	for _, c := range []struct{ out, want string }{
		{"=== RUN   TestFail\n    basic_test.go:13: got 1, want 2\n--- FAIL: TestFail (0.00s)\n", "basic_test.go:13: got 1, want 2"},
		{"=== RUN   TestPanics\n--- FAIL: TestPanics (0.00s)\npanic: boom [recovered]\n\ngoroutine 7 [running]:\n", "panic: boom [recovered]"},
		{"=== RUN   TestX\n--- PASS: TestX (0.00s)\n", ""},
		{"", ""},
	} {
		if got := FirstMessage(c.out); got != c.want {
			t.Errorf("FirstMessage(%q) = %q, want %q", c.out, got, c.want)
		}
	}
}

package report

import (
	"regexp"

	"github.com/parity-ci/parity/matrix"
)

// Signature recognises a known cause of failure from output.
//
// A signature matches when Pattern matches a line of the output of the
// cells that failed (for a pass/skip divergence: of the cells that
// skipped), ignoring go test's framing lines, and its condition holds:
// Axis, when set, must be among the axes that explain the divergence (so
// such signatures never match a failure common to every cell); Value, when
// set, must be the failing cells' value on that axis.
type Signature struct {
	ID      string
	Pattern *regexp.Regexp
	Axis    string
	Value   string
	Cause   string
	Hint    string
}

// Signatures is the table causes are looked up in, first match wins: put
// specific signatures before general ones.
var Signatures = []Signature{
	{
		ID:      "toolchain-too-old",
		Pattern: regexp.MustCompile(`go\.mod requires go >= ?\S+|requires go >= ?\S+ \(running go`),
		Cause:   "the module needs a newer Go than this cell's toolchain",
		Hint:    "drop this Go version from the matrix or lower the go line in go.mod; with GOTOOLCHAIN=local Go does not fetch a newer toolchain",
	},
	{
		ID:      "race",
		Pattern: regexp.MustCompile(`WARNING: DATA RACE|race detected during execution of test|race detected outside of test execution`),
		Axis:    AxisRace,
		Value:   "true",
		Cause:   "a data race: only the cells running with -race detect it",
		Hint:    "read both stacks of the WARNING: DATA RACE report and guard the shared variable with a mutex, a channel or sync/atomic",
	},
	{
		ID:      "race-nondeterministic",
		Pattern: regexp.MustCompile(`WARNING: DATA RACE|race detected during execution of test|race detected outside of test execution`),
		Cause:   "a data race; the race detector reports only races that happen during the run, so cells can differ",
		Hint:    "read both stacks of the WARNING: DATA RACE report and guard the shared variable with a mutex, a channel or sync/atomic",
	},
	{
		ID:      "race-under-qemu",
		Pattern: regexp.MustCompile(`ThreadSanitizer: unsupported VMA range`),
		Cause:   "the race detector cannot run under qemu-user emulation (it needs a 48-bit virtual address space)",
		Hint:    "run -race only on native architectures",
	},
	// The path is the one the tmpdir-symlink policy gives TMPDIR
	// (policies.SymlinkedTmpDir): only cells run with --tmpdir-symlink
	// print it, whatever their axes.
	{
		ID:      "tmpdir-symlink",
		Pattern: regexp.MustCompile(`/proc/self/root/tmp\b`),
		Cause:   "the temporary directory is reached through a symlink in this cell (--tmpdir-symlink), as on macOS, where TMPDIR lies under /var, a symlink to /private/var: a path from t.TempDir() or os.TempDir() is not its resolved path (filepath.EvalSymlinks, os.Getwd after os.Chdir, paths the OS reports back)",
		Hint:    "compare resolved paths on both sides (filepath.EvalSymlinks of t.TempDir() too) or the files themselves (os.SameFile), never a temp path with a path the system resolved",
	},
	{
		ID:      "musl-thread-stack",
		Pattern: regexp.MustCompile(`signal arrived during cgo execution|SIGSEGV|signal: segmentation fault|segmentation violation`),
		Axis:    AxisLibc,
		Value:   "musl",
		Cause:   "a crash in C code on musl: musl gives threads 128 KiB stacks where glibc gives 8 MiB, so deep recursion or large stack buffers in C overflow",
		Hint:    "link with a larger default thread stack: -ldflags='-linkmode=external -extldflags=-Wl,-z,stack-size=8388608'",
	},
	{
		ID:      "musl-lfs64",
		Pattern: regexp.MustCompile(`undefined reference to .?\w+64\b|implicit declaration of function .?\w+64\b|unknown type name .?off64_t`),
		Axis:    AxisLibc,
		Cause:   "cgo code uses the LFS64 names (open64, stat64, off64_t, ...) that musl 1.2.4 removed",
		Hint:    "use the plain names, which are 64-bit on musl, or build the C code with -D_LARGEFILE64_SOURCE; newer releases of the C dependency usually fix it",
	},
	{
		ID:      "c-build",
		Pattern: regexp.MustCompile(`undefined reference to|cannot find -l\S+|fatal error: \S+\.h: No such file or directory`),
		Cause:   "the cgo build fails: a C library or header is missing from this image or differs",
		Hint:    "install the C library's development package in the image's setup step (apk add ...-dev, apt-get install lib...-dev)",
	},
	{
		ID:      "cgo-unavailable",
		Pattern: regexp.MustCompile(`-race requires cgo|cgo: C compiler "?\S+"? not found|C compiler "\S+" not found`),
		Cause:   "cgo is unavailable in this cell: CGO_ENABLED=0 or no C compiler in the image",
		Hint:    "install gcc and the libc headers (apk add gcc musl-dev) and set CGO_ENABLED=1, or skip what needs cgo",
	},
	{
		ID:      "missing-executable",
		Pattern: regexp.MustCompile(`executable file not found in \$PATH|exec: "[^"]*": .*no such file or directory|fork/exec \S+: no such file or directory|\S+: (command )?not found$`),
		Cause:   "a program the test runs is missing from the image (Alpine has busybox sh, no bash or git)",
		Hint:    "install it in the image's setup step, or skip the test when exec.LookPath fails",
	},
	{
		ID:      "tmp-noexec",
		Pattern: regexp.MustCompile(`fork/exec \S+: permission denied`),
		Cause:   "the temporary directory does not allow executing files (a noexec tmpfs)",
		Hint:    "mount TMPDIR and GOTMPDIR executable",
	},
	{
		ID:      "time-zone",
		Pattern: regexp.MustCompile(`unknown time zone|time: missing Location`),
		Cause:   "time zone data is missing or differs (image tzdata, or the Go version's embedded copy)",
		Hint:    `import _ "time/tzdata" to embed the zone database, or install tzdata in the image`,
	},
	{
		ID:      "os-user",
		Pattern: regexp.MustCompile(`user: unknown user(id)?\b|user: Current requires cgo|user: lookup user(id)?\b|user: unknown groupid`),
		Cause:   "the test looks up the current user, who is not in the image's /etc/passwd (containers run as an arbitrary uid)",
		Hint:    "avoid os/user in tests: use os.Getuid, or set $USER and $HOME",
	},
	{
		ID:      "etc-services",
		Pattern: regexp.MustCompile(`unknown port|lookup \S+/(tcp|udp): `),
		Cause:   "/etc/services is missing, so service names do not resolve to ports",
		Hint:    "use numeric ports, or install the services file (netbase on Debian)",
	},
	{
		ID:      "mime-types",
		Pattern: regexp.MustCompile(`(?i)\bmime\b|TypeByExtension|content.?type|media type`),
		Cause:   "the image has no MIME database (/etc/mime.types, /usr/share/mime/globs2), so only Go's few built-in types resolve",
		Hint:    "register the types the test needs with mime.AddExtensionType, or install media-types/mailcap in the image",
	},
	{
		ID:      "read-only-fs",
		Pattern: regexp.MustCompile(`read-only file system`),
		Cause:   "the test writes where the filesystem is read-only (the mounted sources or the image's root)",
		Hint:    "write to t.TempDir(); or run with --source-mode=copy, which gives tests a writable copy of the module (go.mod and go.sum stay read-only)",
	},
	{
		ID:      "no-network",
		Pattern: regexp.MustCompile(`dial (tcp|udp)[46]?\b|no such host|network is unreachable|[Tt]emporary failure in name resolution|server misbehaving|i/o timeout`),
		Cause:   "the test needs the network, which test steps do not have",
		Hint:    "serve what the test needs from httptest.Server or a listener on localhost, or skip it when the network is unavailable",
	},
	{
		ID:      "module-verify",
		Pattern: regexp.MustCompile(`dir has been modified|zip has been modified|missing ziphash|checksum mismatch|SECURITY ERROR`),
		Cause:   "the module cache failed verification",
		Hint:    "clear the module cache volume and rerun; if it persists, a go.sum entry or the proxy is wrong",
	},
	{
		ID:      "test-timeout",
		Pattern: regexp.MustCompile(`panic: test timed out after`),
		Cause:   "the test ran past go test's -timeout: a slower cell (emulated architecture, -race) or a hang",
		Hint:    "raise -timeout for emulated or race cells, or find the blocked goroutine in the dump",
	},
	{
		ID:      "go-stdlib-version",
		Pattern: regexp.MustCompile(`requires go1\.\d+ or later \(module is go1\.\d+|undefined: \w+\.\w+|\.\w+ undefined \(type \S+ has no field or method \w+\)`),
		Axis:    AxisGo,
		Cause:   "the code uses standard-library API newer than the module's go line: Go versions before the API do not build it, and go test's vet (stdversion, on by default from Go 1.27) rejects it in newer ones",
		Hint:    "raise the go line in go.mod to the version that added the API, or keep the newer call behind a //go:build go1.N constraint",
	},
	{
		ID:      "unicode-tables",
		Pattern: regexp.MustCompile(`\bunicode\.(Version|Is\w*|In|To\w*|SimpleFold)\b|\bU\+[0-9A-F]{4,6}\b`),
		Axis:    AxisGo,
		Cause:   "the Unicode tables differ between the cells' Go versions (unicode.Version: 15.0.0 in Go 1.21 to 1.26, 17.0.0 in Go 1.27): characters assigned since then change category, case and width",
		Hint:    "do not assert unicode.Version or the properties of recently assigned characters; pin the tables with a golang.org/x/text version if the test needs fixed answers",
	},
	{
		ID:      "emulation-suspect",
		Pattern: regexp.MustCompile(`function not implemented|\bENOSYS\b|qemu: [Uu]nsupported|[Uu]nsupported (syscall|ioctl)|qemu: uncaught target signal|qemu-\w+: `),
		Axis:    AxisArch,
		Cause:   "emulation-suspect: the cell runs under qemu-user, which lacks some system calls, ioctls and /proc details (ENOSYS, function not implemented); real hardware of this arch may well pass",
		Hint:    "confirm on native hardware of that arch before fixing the code; if the code needs the call, fall back when it returns ENOSYS",
	},
	{
		ID:      "unaligned-atomic",
		Pattern: regexp.MustCompile(`unaligned 64-bit atomic operation`),
		Cause:   "a 64-bit atomic on a field that is not 8-byte aligned: 386 and 32-bit arm align int64 fields to 4 bytes only, and sync/atomic panics on them",
		Hint:    "use atomic.Int64/atomic.Uint64 (always aligned), or put the 64-bit field first in the struct",
	},
	// The cells' word sizes differ: the failing cell is 32-bit (int, uint
	// and pointers are 4 bytes), the arch axis separates it from the rest.
	{
		ID:      "word-size",
		Pattern: regexp.MustCompile(`\S`),
		Axis:    AxisArch,
		Value:   string(matrix.I386),
		Cause:   "int, uint and uintptr are 32 bits on 386: arithmetic wraps at 2^31, constants and lengths above it overflow, unsafe.Sizeof and struct layouts differ from 64-bit cells",
		Hint:    "use int64/uint64 where values may exceed 2^31-1, and never assume unsafe.Sizeof(int(0)) == 8; math.MaxInt and strconv.IntSize give the real size",
	},
	{
		ID:      "word-size",
		Pattern: regexp.MustCompile(`\S`),
		Axis:    AxisArch,
		Value:   string(matrix.ARM),
		Cause:   "int, uint and uintptr are 32 bits on arm: arithmetic wraps at 2^31, constants and lengths above it overflow, unsafe.Sizeof and struct layouts differ from 64-bit cells",
		Hint:    "use int64/uint64 where values may exceed 2^31-1, and never assume unsafe.Sizeof(int(0)) == 8; math.MaxInt and strconv.IntSize give the real size",
	},
	{
		ID:      "float-fma",
		Pattern: regexp.MustCompile(`\d\.\d+[eE][-+]?\d+|\d+\.\d{4,}`),
		Axis:    AxisArch,
		Cause:   "a floating-point result differs by architecture: arm64 (also ppc64le, s390x) fuses x*y+z into one FMA instruction with a single rounding, amd64 does not",
		Hint:    "compare with a tolerance, or force one behaviour: float64(x*y)+z never fuses, math.FMA(x, y, z) always does",
	},
	// After float-fma: s390x fuses too, and a float in the output says so.
	{
		ID:      "byte-order",
		Pattern: regexp.MustCompile(`\S`),
		Axis:    AxisArch,
		Value:   string(matrix.S390X),
		Cause:   "byte order: s390x is big-endian, the other cells little-endian; code that reinterprets memory (unsafe casts, binary.NativeEndian, hashes or encodings of raw bytes) reads its bytes reversed",
		Hint:    "name the order the data has: binary.LittleEndian or binary.BigEndian, never the host's (binary.NativeEndian, unsafe.Pointer casts)",
	},
}

// axisCauses are the fallbacks when no signature matches, by axis.
var axisCauses = map[string]Cause{
	AxisLibc: {Text: "behaviour of the C library or image contents differs (musl vs glibc): files in /etc and /usr/share, installed programs, cgo", Hint: "compare the probe of the cells; reproduce with `docker run` of both images"},
	AxisArch: {Text: "architecture-dependent behaviour: floating point, word size or alignment, unsafe code, or timing under emulation", Hint: "run the test under the other GOARCH locally (qemu-user runs arm64 binaries on amd64)"},
	AxisGo:   {Text: "the Go version changes behaviour: standard library changes, GODEBUG defaults that follow the go line, or toolchain bugs", Hint: "read the release notes of the versions in between; try GODEBUG settings"},
	AxisRace: {Text: "fails only with -race: a data race the detector did not name, or the detector's overhead (timeouts, memory)", Hint: "run with -race locally; raise -timeout for race cells"},
}

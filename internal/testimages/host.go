package testimages

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CheckHost reports what this machine lacks to build layers for arches
// (nil when nothing is missing). Tests use it to decide between skipping and
// failing before spending minutes on a build. A warm cache needs none of
// this, but checking the cache too would make the answer depend on state a
// test cannot see.
func CheckHost(arches []string) error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (debootstrap and chroot need it)")
	}
	for _, tool := range []struct{ name, pkg string }{{"debootstrap", "debootstrap"}, {"chroot", "coreutils"}, {"tar", "tar"}} {
		if _, err := exec.LookPath(toolPath(tool.name)); err != nil {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", tool.name, tool.pkg))
		}
	}
	if _, err := goTool(); err != nil {
		missing = append(missing, err.Error())
	}
	for _, arch := range arches {
		entry, known := binfmtEntry[arch]
		switch {
		case !known:
			missing = append(missing, fmt.Sprintf("support for arch %q (only %s)", arch, strings.Join(Arches, ", ")))
			continue
		case arch == "386" && nativeArch() == "amd64" && !Runs386():
			missing = append(missing, "a kernel that runs 32-bit x86 programs (this one has no IA32 emulation, and Go does not run under qemu-i386)")
			continue
		case runsNatively(arch):
			continue
		}
		if err := checkBinfmt(entry); err != nil {
			missing = append(missing, err.Error())
		}
		if t, ok := standIn[arch]; ok {
			if _, err := exec.LookPath(t + "-gcc"); err != nil {
				missing = append(missing, fmt.Sprintf("%s-gcc and %s's glibc (apt-get install %s)", t, arch, strings.Join(CrossPackages(arch), " ")))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("testimages: this host cannot build the test images: missing %s", strings.Join(missing, "; "))
	}
	return nil
}

// toolPath returns name as found on PATH, else /usr/sbin/name when that
// exists: root's PATH has /usr/sbin (debootstrap, chroot), a test runner's
// may not.
func toolPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", name); fileExists(p) {
		return p
	}
	return name
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// binfmtEntry names the binfmt_misc entry that runs an arch's binaries
// where the host cannot run them itself.
var binfmtEntry = map[string]string{"amd64": "qemu-x86_64", "arm64": "qemu-aarch64", "386": "qemu-i386", "s390x": "qemu-s390x"}

// runsNatively reports whether this host runs arch's binaries without
// qemu: its own arch, and 386 on amd64 (the kernel's 32-bit x86 support).
func runsNatively(arch string) bool {
	return arch == nativeArch() || (arch == "386" && nativeArch() == "amd64")
}

var runs386 = sync.OnceValue(func() bool {
	goBin, err := goTool()
	if err != nil || nativeArch() != "amd64" {
		return false
	}
	dir, err := os.MkdirTemp("", "parity-386-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "main.go")
	if os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644) != nil {
		return false
	}
	bin := filepath.Join(dir, "p")
	build := exec.Command(goBin, "build", "-o", bin, src)
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=386", "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	build.Dir = dir
	if build.Run() != nil {
		return false
	}
	return exec.Command(bin).Run() == nil
})

// Runs386 reports whether this host runs a Go program built for linux/386.
// An amd64 kernel does so natively only when built with IA32 emulation;
// some are not (measured: a Firecracker guest kernel, "exec format error"),
// and Go's 386 programs do not run under qemu-i386 7.2 either ("morestack
// on g0"), so on such a host there can be no 386 image or cell.
func Runs386() bool { return runs386() }

// checkBinfmt checks that foreign binaries run through qemu. The F flag
// matters: it makes the kernel open the interpreter up front, so it also
// works inside the debootstrap chroot, which has no qemu binary of its own.
func checkBinfmt(entry string) error {
	fix := "apt-get install qemu-user-static binfmt-support; update-binfmts --enable " + entry
	b, err := os.ReadFile("/proc/sys/fs/binfmt_misc/" + entry)
	if err != nil {
		return fmt.Errorf("binfmt_misc entry %s (%s)", entry, fix)
	}
	s := string(b)
	if !strings.HasPrefix(s, "enabled") {
		return fmt.Errorf("binfmt_misc entry %s is disabled (%s)", entry, fix)
	}
	for _, line := range strings.Split(s, "\n") {
		if flags, ok := strings.CutPrefix(line, "flags: "); ok && !strings.Contains(flags, "F") {
			return fmt.Errorf("binfmt_misc entry %s lacks the F flag, so it cannot work in a chroot (%s)", entry, fix)
		}
	}
	return nil
}

// nativeArch is the GOARCH-style name of the host's machine.
func nativeArch() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	var b []byte
	for _, c := range u.Machine {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	switch string(b) {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return string(b)
}

// goTool finds the go command used to download toolchains. `go test` puts
// its own GOROOT/bin first on PATH, so tests find the toolchain running them.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the go command on PATH (to download toolchains from the module proxy)")
}

// runner runs build commands.
type runner struct {
	logf func(format string, args ...any)
}

// run runs name with args and env in /, returning an error that carries
// the tail of its output.
func (r runner) run(ctx context.Context, env []string, name string, args ...string) error {
	return r.runIn(ctx, "/", env, nil, name, args...)
}

// runIn runs name in dir. Its stdout goes to stdout when that is not nil;
// otherwise stdout and stderr are kept (the tail) for the error message.
// The command gets its own process group and is stopped with SIGTERM on
// cancellation, so that debootstrap's traps unmount what it mounted;
// whatever is left of the group is killed afterwards.
func (r runner) runIn(ctx context.Context, dir string, env []string, stdout io.Writer, name string, args ...string) error {
	start := time.Now()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = dir
	out := &tailBuffer{max: 8 << 10}
	cmd.Stdout = out
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		// Stragglers in the group (dpkg children of a killed apt) are ours
		// to end.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", name, ctx.Err())
		}
		return fmt.Errorf("%s %s: %w\n%s", name, shortArgs(args), err, out.String())
	}
	r.logf("testimages: %s %s (%.1fs)", filepath.Base(name), shortArgs(args), time.Since(start).Seconds())
	return nil
}

func shortArgs(args []string) string {
	s := strings.Join(args, " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	return string(bytes.TrimSpace(b))
}

// chrootEnv is the environment for commands run inside a build tree: a
// clean one (the caller's GOFLAGS or LANG mean nothing there), plus the
// host's proxy settings, which apt needs where the mirror sits behind one.
func chrootEnv() []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root",
		"LC_ALL=C",
		"DEBIAN_FRONTEND=noninteractive",
		"DEBCONF_NONINTERACTIVE_SEEN=true",
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "no_proxy", "ftp_proxy":
			env = append(env, kv)
		}
	}
	return env
}

// unmountUnder detaches every mount point at or below dir, deepest first.
// A build step killed mid-way (debootstrap mounts proc and sys in its
// target) would otherwise make os.RemoveAll walk into the host's /proc.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("listing mounts: %w", err)
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading mountinfo: %w", err)
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, mp := range points {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			return fmt.Errorf("unmounting leftover %s: %w", mp, err)
		}
	}
	return nil
}

// unescapeMountinfo decodes the octal escapes (\040 for space) that
// mountinfo uses in paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeTree removes a scratch tree after detaching any mounts left in it.
func removeTree(dir string) error {
	if err := unmountUnder(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing scratch tree: %w", err)
	}
	return nil
}

// lockFile takes a flock on path, waiting (and honouring ctx) while another
// process holds it. how is syscall.LOCK_EX or syscall.LOCK_SH.
func lockFile(ctx context.Context, path string, how int, logf func(string, ...any)) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := relock(ctx, f, how, logf); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// relock takes or converts the flock on an open lock file.
func relock(ctx context.Context, f *os.File, how int, logf func(string, ...any)) error {
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		if !logged {
			logf("testimages: waiting for another process building test images (lock %s)", f.Name())
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for lock %s: %w", f.Name(), ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

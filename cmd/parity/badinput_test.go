package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// oneLine fails unless the command exited 2 with one line naming want.
func oneLine(t *testing.T, want string, args ...string) {
	t.Helper()
	code, _, stderr := runCLI(t, args...)
	if code != exitError || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Fatalf("%q: exit %d, stderr %q; want exit 2 and one line with %q", args, code, stderr, want)
	}
}

// Issue 16: values that slipped past validation until Docker was asked.
// No daemon answers here: a check made after connecting would show
// Docker's error instead.
func TestValuesRefusedBeforeDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("PARITY_REGISTRY_MIRROR", "")
	t.Setenv("PARITY_CA_BUNDLE", "")
	good := module(t, "module example.com/m\n\ngo 1.26\n", "")
	os.WriteFile(filepath.Join(good, "m.go"), []byte("package m\n"), 0o644)
	os.Chmod(good, 0o755)
	files := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(files, name)
		os.WriteFile(p, []byte(data), 0o644)
		return p
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"packages up":     {[]string{"--packages=../../etc"}, `--packages "../../etc": outside the module`},
		"packages abs":    {[]string{"--packages=/etc"}, `--packages "/etc": outside the module`},
		"cpus 0":          {[]string{"--cell-cpus=0"}, `--cell-cpus "0"`},
		"cpus NaN":        {[]string{"--cell-cpus=NaN"}, `--cell-cpus "NaN"`},
		"cpus 1e9":        {[]string{"--cell-cpus=1e9"}, `--cell-cpus "1e9"`},
		"mirror port":     {[]string{"--registry-mirror=mirror.example:99999"}, "--registry-mirror"},
		"deps env space":  {[]string{"--deps-env=A B=c"}, `--deps-env "A B`},
		"go banana":       {[]string{"--go=banana"}, `--go "banana"`},
		"go x":            {[]string{"--go=1.26.x"}, `--go "1.26.x"`},
		"go empty item":   {[]string{"--go=1.26.8,,go"}, `--go "go"`},
		"ca dir":          {[]string{"--ca-bundle", files}, "--ca-bundle " + files + ": is a directory"},
		"ca not PEM":      {[]string{"--ca-bundle", write("x.pem", "hello")}, "no PEM certificate"},
		"ca empty":        {[]string{"--ca-bundle", write("e.pem", "")}, "empty file"},
		"ca missing":      {[]string{"--ca-bundle", filepath.Join(files, "none.pem")}, "--ca-bundle " + filepath.Join(files, "none.pem") + ": no such file"},
		"empty lock":      {[]string{"--lock", write("empty.json", "")}, "empty.json: empty file"},
		"lock name":       {[]string{"--lock", write("other.json", "[]")}, "other.json: "},
		"lock version":    {[]string{"--lock", write("v2.json", `{"version":2,"pins":[]}`)}, "v2.json: version 2"},
		"endpoint form":   {[]string{"--endpoint=arm-host"}, `--endpoint "arm-host": want PLATFORM=URL`},
		"endpoint url":    {[]string{"--endpoint=linux/arm64=http://arm:2375"}, "want a unix://, tcp:// or ssh:// URL"},
		"endpoint twice":  {[]string{"--endpoint=linux/arm64=ssh://a", "--endpoint=linux/arm64=ssh://b"}, "linux/arm64 is given twice"},
		"endpoint cell":   {[]string{"--arch=amd64", "--endpoint=linux/arm64=ssh://a"}, "--endpoint linux/arm64=ssh://a: no cell of the matrix is linux/arm64 (its platforms: linux/amd64)"},
		"endpoint dagger": {[]string{"--runtime=dagger", "--endpoint=linux/arm64=ssh://a"}, "--endpoint needs the Docker runtime"},
		"shard alone":     {[]string{"--shard=1/3"}, "--shard 1/3 needs --shard-packages"},
		"shard range":     {[]string{"--shard=4/3", "--shard-packages=./a"}, `--shard "4/3": want I/N`},
	} {
		t.Run(name, func(t *testing.T) {
			oneLine(t, tc.want, append([]string{"test", "--source", good, "--runtime", "docker", "--no-progress"}, tc.args...)...)
			if strings.HasPrefix(name, "lock") || name == "empty lock" {
				code, _, stderr := runCLI(t, append([]string{"test", "--source", good, "--runtime", "docker", "--no-progress"}, tc.args...)...)
				if code == exitError && strings.Contains(stderr, "parity.lock.json") {
					t.Fatalf("names parity.lock.json for --lock %s: %s", tc.args[1], stderr)
				}
			}
		})
	}
	t.Run("clean scope", func(t *testing.T) { oneLine(t, `--cache-scope "a/b"`, "clean", "--all", "--cache-scope=a/b") })
}

// A value from the environment is named as the variable the user set, not
// as a flag they never typed.
func TestEnvValuesNamedAsVariables(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	good := module(t, "module example.com/m\n\ngo 1.26\n", "")
	os.WriteFile(filepath.Join(good, "m.go"), []byte("package m\n"), 0o644)
	os.Chmod(good, 0o755)
	t.Setenv("PARITY_CA_BUNDLE", "")
	t.Setenv("PARITY_REGISTRY_MIRROR", "garbage")
	for _, cmd := range [][]string{{"test", "--source", good, "--runtime", "docker"}, {"plan", "--source", good, "--runtime", "dagger"}} {
		code, _, stderr := runCLI(t, cmd...)
		if code != exitError || !strings.Contains(stderr, "PARITY_REGISTRY_MIRROR=garbage") || strings.Contains(stderr, "--registry-mirror") {
			t.Fatalf("%v: exit %d, stderr %q", cmd, code, stderr)
		}
	}
	t.Setenv("PARITY_REGISTRY_MIRROR", "")
	dir := t.TempDir()
	t.Setenv("PARITY_CA_BUNDLE", dir)
	oneLine(t, "PARITY_CA_BUNDLE="+dir+": is a directory", "test", "--source", good, "--runtime", "docker")
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, nil, 0o644)
	t.Setenv("PARITY_CA_BUNDLE", empty)
	oneLine(t, "PARITY_CA_BUNDLE="+empty+": empty file", "test", "--source", good, "--runtime", "docker")
}

// The source is checked before anything runs: what every cell would
// otherwise fail on, said with what to do.
func TestSourceRefusedBeforeDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("PARITY_REGISTRY_MIRROR", "")
	t.Setenv("PARITY_CA_BUNDLE", "")
	src := func(files map[string]string) string {
		dir := module(t, "module example.com/m\n\ngo 1.26\n\nrequire golang.org/x/mod v0.43.0\n", "")
		os.Chmod(dir, 0o755)
		for name, data := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
			os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
		}
		return dir
	}
	without := func(dir, name string) string { os.Remove(filepath.Join(dir, name)); return dir }
	goSum := "golang.org/x/mod v0.43.0 h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
	unreadable := src(map[string]string{"m.go": "package m\n"})
	os.Chmod(unreadable, 0o700)
	for name, tc := range map[string]struct {
		dir, want string
	}{
		"garbage go.sum":  {src(map[string]string{"m.go": "package m\n", "go.sum": "garbage\n"}), "go.sum line 1"},
		"tampered go.sum": {src(map[string]string{"m.go": "package m\n", "go.sum": strings.Replace(goSum, "h1:47DEQ", "h1:!!DEQ", 1)}), "go.sum line 1"},
		"vendor":          {src(map[string]string{"m.go": "package m\n", "vendor/modules.txt": "# golang.org/x/mod v0.1.0\n## explicit\n"}), "vendor/modules.txt is inconsistent with go.mod"},
		"no packages":     {without(src(map[string]string{"README": "x"}), "m.go"), "no Go packages"},
		"mode 0700":       {unreadable, "chmod -R a+rX " + unreadable},
		"empty go.mod":    {module(t, "\n", ""), "go.mod is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			oneLine(t, tc.want, "test", "--source", tc.dir, "--runtime", "docker", "--no-progress")
			if name == "empty go.mod" {
				_, _, stderr := runCLI(t, "test", "--source", tc.dir, "--runtime", "docker")
				if strings.Contains(stderr, "no go.mod") {
					t.Fatalf("an empty go.mod reported as a missing one: %s", stderr)
				}
			}
		})
	}
}

// Issue 16: bad input that exited 0, or printed more than a line or two.
func TestBadArgumentsExit2(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("PARITY_REGISTRY_MIRROR", "")
	good := module(t, "module example.com/m\n\ngo 1.26\n", "")
	digest := "sha256:" + strings.Repeat("a", 64)
	lock := filepath.Join(t.TempDir(), "good.json")
	os.WriteFile(lock, []byte(`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1-alpine3.24@`+digest+`"},{"go":"1.27.1","libc":"glibc","image":"golang:1.27.1-trixie@`+digest+`"}]}`), 0o644)
	if code, _, stderr := runCLI(t, "pins", "check", "--lock", lock); code != exitOK {
		t.Fatalf("good lock: %d %s", code, stderr)
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"plan extra":      {[]string{"plan", "--source", good, "--runtime", "dagger", "extra-arg"}, "extra-arg"},
		"plan out":        {[]string{"plan", "--source", good, "--runtime", "dagger", "--out=/proc/1"}, "--out"},
		"pins check args": {[]string{"pins", "check", "--lock", lock, "extra"}, "extra"},
		"version extra":   {[]string{"version", "extra"}, "version"},
		"version flag":    {[]string{"version", "--bogus"}, "version"},
		"render flag":     {[]string{"render", lock, "--format"}, "-format"},
	} {
		t.Run(name, func(t *testing.T) { oneLine(t, tc.want, tc.args...) })
	}
	for _, args := range [][]string{{"clean", "--all=maybe"}, {"clean", "--bogus"}} {
		code, out, stderr := runCLI(t, args...)
		if code != exitError || strings.Count(strings.TrimSpace(stderr), "\n") > 1 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr (%d lines) %q", args, code, out, strings.Count(stderr, "\n"), stderr)
		}
	}
}

func TestHookArgumentsChecked(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	bare := t.TempDir()
	if out, err := exec.Command("git", "-C", bare, "init", "-q", "--bare").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	oneLine(t, "bare repository", "hook", "install", "-C", bare)
	if _, err := os.Stat(filepath.Join(bare, "hooks", "pre-push")); err == nil {
		t.Fatal("installed into a bare repository")
	}
	repo := t.TempDir()
	if out, err := exec.Command("git", "-C", repo, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	oneLine(t, "extra", "hook", "install", "-C", repo, "extra")
	if _, err := os.Stat(filepath.Join(repo, ".git", "hooks", "pre-push")); err == nil {
		t.Fatal("installed despite the extra argument")
	}
}

// `parity report` that cannot reach its daemon leaves no empty report
// directory behind.
func TestReportLeavesNoEmptyDirWithoutADaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("PARITY_REGISTRY_MIRROR", "")
	t.Setenv("PARITY_CA_BUNDLE", "")
	good := module(t, "module example.com/m\n\ngo 1.26\n", "")
	os.WriteFile(filepath.Join(good, "m.go"), []byte("package m\n"), 0o644)
	os.Chmod(good, 0o755)
	wd, _ := os.Getwd()
	t.Chdir(t.TempDir())
	defer os.Chdir(wd)
	code, _, stderr := runCLI(t, "report", "--source", good, "--runtime", "docker", "--no-progress")
	if code != exitError || !strings.Contains(stderr, "docker") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat("parity-report"); err == nil {
		t.Fatal("left ./parity-report behind")
	}
	nested := filepath.Join(t.TempDir(), "a", "b")
	runCLI(t, "test", "--source", good, "--runtime", "docker", "--no-progress", "--json", filepath.Join(nested, "r.json"))
	if _, err := os.Stat(filepath.Dir(nested)); err == nil {
		t.Fatal("left the --json directories behind")
	}
}

// The first signal stops the run; the second cuts its clean-up short.
func TestSecondSignalCutsCleanupShort(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	ctx, got, stop := interruptible(context.Background(), sigs)
	defer stop()
	cleanup := cleanupContext(ctx)
	sigs <- os.Interrupt
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first signal did not stop the run")
	}
	if cleanup.Err() != nil {
		t.Fatal("the first signal cut the clean-up short")
	}
	sigs <- os.Interrupt
	select {
	case <-cleanup.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not cut the clean-up short")
	}
	stop()
	if s := <-got; s != os.Interrupt {
		t.Fatalf("got %v", s)
	}
	if cleanupContext(context.Background()).Done() != nil {
		t.Fatal("without signals, clean-up is never cut short")
	}
}

package hook

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hermetic keeps the developer's git configuration (a global core.hooksPath,
// say) out of the tests.
func hermetic(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.invalid")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.invalid")
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newRepo(t *testing.T) string {
	t.Helper()
	// Resolved, so paths compare equal where the temp dir is behind a link.
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q")
	return dir
}

func TestHooksDir(t *testing.T) {
	hermetic(t)
	repo := newRepo(t)
	ctx := context.Background()

	got, err := HooksDir(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(repo, ".git", "hooks"); got != want {
		t.Errorf("default: %s, want %s", got, want)
	}

	// From a subdirectory, with a relative core.hooksPath: relative to the
	// top of the work tree, as git runs hooks.
	git(t, repo, "config", "core.hooksPath", ".githooks")
	sub := filepath.Join(repo, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err = HooksDir(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(repo, ".githooks"); got != want {
		t.Errorf("core.hooksPath: %s, want %s", got, want)
	}

	abs := filepath.Join(t.TempDir(), "shared-hooks")
	git(t, repo, "config", "core.hooksPath", abs)
	if got, err = HooksDir(ctx, repo); err != nil || got != abs {
		t.Errorf("absolute core.hooksPath: %s, %v; want %s", got, err, abs)
	}

	if _, err := HooksDir(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "git rev-parse") {
		t.Errorf("outside a repository: err = %v", err)
	}
}

func TestInstallWritesAnExecutableMarkedHook(t *testing.T) {
	hermetic(t)
	repo := newRepo(t)
	git(t, repo, "config", "core.hooksPath", "hooks-not-yet-made")
	dir, err := HooksDir(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := Install(dir, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(repo, "hooks-not-yet-made", "pre-push")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	s := string(data)
	for _, want := range []string{"#!/bin/sh\n", "\n" + Marker + "\n", "\nexec parity test --profile=pre-push\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("hook lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "go run") || strings.Contains(s, "@latest") {
		t.Errorf("hook falls back to the network:\n%s", s)
	}
	if ok, err := IsManaged(path); !ok || err != nil {
		t.Errorf("IsManaged = %v, %v", ok, err)
	}
	if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s", err, out)
	}

	// Reinstalling over our own hook needs no force and leaves no backup.
	if err := Install(dir, InstallOptions{Command: "parity test --profile=pre-push --fail-fast"}); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), "\nexec parity test --profile=pre-push --fail-fast\n") {
		t.Errorf("reinstall did not take the new command:\n%s", data)
	}
	if _, err := os.Stat(path + BackupSuffix); err == nil {
		t.Error("reinstall backed up Parity's own hook")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("hooks dir holds %d entries, want only pre-push (temp files left?)", len(entries))
	}
}

func TestForeignHookIsKeptSafe(t *testing.T) {
	hermetic(t)
	repo := newRepo(t)
	dir, err := HooksDir(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, Name)
	const mine = "#!/bin/sh\necho my own checks\n"
	if err := os.WriteFile(path, []byte(mine), 0o755); err != nil {
		t.Fatal(err)
	}

	err = Install(dir, InstallOptions{})
	if !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("install over a foreign hook: err = %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != mine {
		t.Fatal("refused install still changed the hook")
	}
	if err := Uninstall(dir); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), "left alone") {
		t.Fatalf("uninstall of a foreign hook: err = %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != mine {
		t.Fatal("refused uninstall still changed the hook")
	}

	// --force keeps the user's hook as the backup...
	if err := Install(dir, InstallOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path + BackupSuffix); string(data) != mine {
		t.Fatalf("backup = %q", data)
	}
	if ok, _ := IsManaged(path); !ok {
		t.Fatal("forced install did not write Parity's hook")
	}
	// ...and uninstall puts it back, executable as it was.
	if err := Uninstall(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != mine || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("restored hook %q mode %v", data, fi.Mode())
	}
	if _, err := os.Stat(path + BackupSuffix); err == nil {
		t.Error("backup left behind after restoring it")
	}

	if err := Uninstall(dir); !errors.Is(err, ErrForeign) {
		t.Fatalf("second uninstall: err = %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := Uninstall(dir); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("uninstall with no hook: err = %v", err)
	}
}

func TestForceNeverOverwritesAnEarlierBackup(t *testing.T) {
	hermetic(t)
	dir := t.TempDir()
	path := filepath.Join(dir, Name)
	os.WriteFile(path, []byte("#!/bin/sh\nnew\n"), 0o755)
	os.WriteFile(path+BackupSuffix, []byte("#!/bin/sh\nold\n"), 0o755)
	if err := Install(dir, InstallOptions{Force: true}); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), "earlier backup") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(path + BackupSuffix); string(data) != "#!/bin/sh\nold\n" {
		t.Fatal("earlier backup overwritten")
	}
}

func TestSymlinkedHookIsForeign(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "shared")
	// Even a link to a Parity hook is not ours to rewrite: the file behind it
	// may be shared by other repositories.
	script, _ := Script("")
	os.WriteFile(target, []byte(script), 0o755)
	if err := os.Symlink(target, filepath.Join(dir, Name)); err != nil {
		t.Skip(err)
	}
	if err := Install(dir, InstallOptions{}); !errors.Is(err, ErrForeign) {
		t.Fatalf("err = %v", err)
	}
	if err := Uninstall(dir); !errors.Is(err, ErrForeign) {
		t.Fatalf("err = %v", err)
	}
}

func TestScriptRejectsBadCommands(t *testing.T) {
	for _, c := range []string{"   ", "parity test\nrm -rf /"} {
		if _, err := Script(c); err == nil {
			t.Errorf("Script(%q) accepted", c)
		}
	}
}

// TestHookRunsOnPush pushes for real: git runs the installed hook, which
// runs whatever `parity` is on PATH, and a failing parity stops the push.
func TestHookRunsOnPush(t *testing.T) {
	hermetic(t)
	gitPath, _ := exec.LookPath("git")
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "args")
	fake := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + record + "\nexit ${PARITY_FAKE_EXIT:-0}\n"
	if err := os.WriteFile(filepath.Join(bin, "parity"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	// A PATH with git and sh but only the fake parity.
	basePath := filepath.Dir(gitPath) + string(os.PathListSeparator) + "/bin"
	t.Setenv("PATH", bin+string(os.PathListSeparator)+basePath)

	remote := t.TempDir()
	git(t, remote, "init", "-q", "--bare")
	repo := newRepo(t)
	git(t, repo, "commit", "-q", "--allow-empty", "-m", "one")
	git(t, repo, "remote", "add", "origin", remote)
	dir, err := HooksDir(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := Install(dir, InstallOptions{}); err != nil {
		t.Fatal(err)
	}

	git(t, repo, "push", "-q", "origin", "HEAD:refs/heads/main")
	args, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("the hook did not run parity: %v", err)
	}
	// git's own arguments (remote name and URL) are not handed on: `parity
	// test` takes none.
	if want := "test\n--profile=pre-push\n"; string(args) != want {
		t.Errorf("parity ran with %q, want %q", args, want)
	}

	// A failing run stops the push.
	t.Setenv("PARITY_FAKE_EXIT", "1")
	git(t, repo, "commit", "-q", "--allow-empty", "-m", "two")
	cmd := exec.Command("git", "push", "-q", "origin", "HEAD:refs/heads/main")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("push succeeded although parity failed:\n%s", out)
	}

	// Without parity on PATH the push stops with a message, and nothing is
	// fetched from the network in its place.
	t.Setenv("PATH", basePath)
	if _, err := exec.LookPath("parity"); err == nil {
		t.Skip("a real parity is installed next to git")
	}
	cmd = exec.Command("git", "push", "-q", "origin", "HEAD:refs/heads/main")
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("push succeeded without parity:\n%s", out)
	}
	if !strings.Contains(string(out), "parity pre-push hook: 'parity' is not on PATH, so this push was stopped.") {
		t.Errorf("message:\n%s", out)
	}
}

// A bare repository has no work tree to test and pushes nothing: refused.
func TestHooksDirRefusesABareRepository(t *testing.T) {
	hermetic(t)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "--bare")
	if _, err := HooksDir(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "bare repository") {
		t.Fatalf("err = %v", err)
	}
}

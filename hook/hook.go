// Package hook installs and removes the git pre-push hook that runs Parity's
// fast profile before every push. It only ever touches a hook it wrote
// itself, which it recognises by a marker line; anything else is the user's.
package hook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	// Name is the hook's file name in the hooks directory.
	Name = "pre-push"
	// Marker is the line that identifies a hook written by Parity.
	Marker = "# parity-managed pre-push hook"
	// BackupSuffix is appended to a foreign hook's name when Install --force
	// moves it aside; Uninstall puts it back.
	BackupSuffix = ".parity-backup"
	// DefaultCommand is what the hook runs. The pre-push profile itself
	// (host arch only, Dagger or Docker) is decided by the parity binary, so
	// upgrading Parity changes it without reinstalling the hook.
	DefaultCommand = "parity test --profile=pre-push"
)

var (
	// ErrForeign means the hook in place was not written by Parity.
	ErrForeign = errors.New("not written by Parity")
	// ErrNotInstalled means there is no pre-push hook to remove.
	ErrNotInstalled = errors.New("no pre-push hook installed")
)

// InstallOptions tunes Install.
type InstallOptions struct {
	// Force replaces a hook Parity did not write, after moving it to
	// pre-push.parity-backup.
	Force bool
	// Command replaces DefaultCommand; it is one line of shell. git's hook
	// arguments (the remote's name and URL) are not passed on: the check is
	// of the work tree, not of the remote, and `parity test` takes no
	// positional arguments.
	Command string
}

// HooksDir returns the absolute hooks directory of the repository containing
// dir. It asks git rather than assuming .git/hooks, so core.hooksPath, linked
// worktrees and GIT_DIR are honoured the way git itself will honour them.
func HooksDir(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--is-bare-repository", "--git-path", "hooks")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("find the hooks directory of %s: git rev-parse --git-path hooks: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	bare, p, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if strings.TrimSpace(bare) == "true" {
		// Nothing is pushed from a bare repository: its pre-push hook
		// would never run, and `parity test` has no work tree to test.
		return "", fmt.Errorf("%s is a bare repository: install the hook in a clone with a work tree", dir)
	}
	p = strings.TrimSpace(p)
	if !filepath.IsAbs(p) {
		// git prints it relative to the directory it ran in.
		p = filepath.Join(dir, p)
	}
	return filepath.Abs(p)
}

// Script returns the hook's text for command ("" means DefaultCommand).
func Script(command string) (string, error) {
	if command == "" {
		command = DefaultCommand
	}
	if strings.ContainsAny(command, "\n\r") {
		return "", fmt.Errorf("hook command %q: must be one line", command)
	}
	prog := strings.Fields(command)
	if len(prog) == 0 {
		return "", fmt.Errorf("hook command %q is empty", command)
	}
	// No network fallback (such as `go run …@latest`) when the program is
	// missing: a hook that silently downloads code would run something other
	// than the version the user chose. Stop the push and say why.
	return `#!/bin/sh
` + Marker + `
# Written by 'parity hook install'; 'parity hook uninstall' removes it.
# Runs Parity's fast pre-push profile before every push; skip it once with
# 'git push --no-verify'.
prog=` + shellQuote(prog[0]) + `
if ! command -v "$prog" >/dev/null 2>&1; then
	echo "parity pre-push hook: '$prog' is not on PATH, so this push was stopped." >&2
	echo "Install Parity (go install github.com/parity-ci/parity/cmd/parity), push with --no-verify to skip the check once, or run 'parity hook uninstall'." >&2
	exit 1
fi
exec ` + command + `
`, nil
}

// shellQuote quotes s for POSIX sh unless it is plainly safe.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Install writes the pre-push hook into hooksDir (see HooksDir), creating
// the directory if core.hooksPath names one that does not exist yet. A hook
// Parity wrote before is replaced; any other hook is refused unless
// opt.Force, which first moves it to pre-push.parity-backup.
func Install(hooksDir string, opt InstallOptions) error {
	script, err := Script(opt.Command)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(hooksDir, 0o755); err != nil {
		return fmt.Errorf("install %s hook: %w", Name, err)
	}
	path := filepath.Join(hooksDir, Name)
	managed, exists, err := inspect(path)
	if err != nil {
		return fmt.Errorf("install %s hook: %w", Name, err)
	}
	if exists && !managed {
		backup := path + BackupSuffix
		if !opt.Force {
			return fmt.Errorf("install %s hook: %s exists and was %w; rerun with --force to move it to %s, or call Parity from it (see docs/hooks.md)", Name, path, ErrForeign, filepath.Base(backup))
		}
		if _, err := os.Lstat(backup); err == nil {
			return fmt.Errorf("install %s hook: %s was %w, and %s already holds an earlier backup; move one of them away first so neither is lost", Name, path, ErrForeign, backup)
		}
		if err := os.Rename(path, backup); err != nil {
			return fmt.Errorf("install %s hook: back up %s: %w", Name, path, err)
		}
	}
	if err := writeExecutable(path, []byte(script)); err != nil {
		return fmt.Errorf("install %s hook: %w", Name, err)
	}
	return nil
}

// Uninstall removes the pre-push hook from hooksDir if Parity wrote it, and
// puts back the hook Install --force moved aside, if any. A hook Parity did
// not write is left alone and reported with ErrForeign; a missing hook with
// ErrNotInstalled.
func Uninstall(hooksDir string) error {
	path := filepath.Join(hooksDir, Name)
	managed, exists, err := inspect(path)
	if err != nil {
		return fmt.Errorf("uninstall %s hook: %w", Name, err)
	}
	if !exists {
		return fmt.Errorf("uninstall %s hook: %s: %w", Name, path, ErrNotInstalled)
	}
	if !managed {
		return fmt.Errorf("uninstall %s hook: %s was %w (no %q line), so it was left alone", Name, path, ErrForeign, Marker)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("uninstall %s hook: %w", Name, err)
	}
	backup := path + BackupSuffix
	if _, err := os.Lstat(backup); err == nil {
		if err := os.Rename(backup, path); err != nil {
			return fmt.Errorf("uninstall %s hook: restore %s: %w", Name, backup, err)
		}
	}
	return nil
}

// IsManaged reports whether the hook at path was written by Parity.
func IsManaged(path string) (bool, error) {
	managed, _, err := inspect(path)
	return managed, err
}

// inspect says whether path exists and carries the marker. A symlink is
// never Parity's (Install writes a regular file), so a hook shared through a
// link, as some hook managers do, is treated as foreign and not written
// through.
func inspect(path string) (managed, exists bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if !fi.Mode().IsRegular() {
		return false, true, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, true, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimRight(line, "\r") == Marker {
			return true, true, nil
		}
	}
	return false, true, nil
}

// writeExecutable replaces path atomically, so a push racing the install
// never runs half a script.
func writeExecutable(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	// Explicit mode: CreateTemp's 0600 is not executable, and umask must not
	// decide whether git can run the hook.
	if err := f.Chmod(0o755); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

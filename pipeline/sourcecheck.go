package pipeline

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// CellUID and CellGID are who the cells' steps run as (policies' default
// user): the source must be readable by them.
const (
	CellUID = 65534
	CellGID = 65534
)

// CheckSourceDir is CheckSource of a directory on this machine; name is
// how the user named it (e.g. "--source ."), for messages.
func CheckSourceDir(dir, name string) error {
	return CheckSource(os.DirFS(dir), name, dir)
}

// CheckSource checks, before anything runs, what would otherwise fail in
// every cell with a message no one connects to its cause: a go.sum that is
// not one, a vendor directory that disagrees with go.mod, a module without
// a single Go package, and files the cells cannot read (their steps run as
// uid CellUID). fsys is the module's root; name is how the user named it;
// chmodDir is what the chmod hint names (the directory as the user can
// type it). Each error is one line that says what to do.
func CheckSource(fsys fs.FS, name, chmodDir string) error {
	goMod, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		return nil // the front door reports a missing go.mod, and MakePlan a broken one
	}
	mf, err := modfile.Parse("go.mod", goMod, nil)
	if err != nil || mf.Module == nil {
		return nil
	}
	if err := checkReadable(fsys, name, chmodDir); err != nil {
		return err
	}
	if err := checkGoSum(fsys, name); err != nil {
		return err
	}
	if err := checkVendor(fsys, name, mf); err != nil {
		return err
	}
	return checkHasPackages(fsys, name)
}

// checkGoSum checks each line of go.sum is "module version hash" with a
// valid module path and version and an h1: hash of 32 bytes, and that no
// module version has two hashes. A well-formed but wrong hash is caught by
// `go mod verify` in the cells' deps step.
func checkGoSum(fsys fs.FS, name string) error {
	data, err := fs.ReadFile(fsys, "go.sum")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: go.sum: %w", name, err)
	}
	bad := func(n int, what string) error {
		return fmt.Errorf("%s: go.sum line %d: %s: restore it from version control, or run `go mod tidy` to rewrite it", name, n, what)
	}
	seen := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return bad(n, "want three fields, module version hash")
		}
		if err := module.CheckPath(f[0]); err != nil {
			if module.CheckImportPath(f[0]) != nil {
				return bad(n, fmt.Sprintf("%q is not a module path", clipped(f[0])))
			}
		}
		if v := strings.TrimSuffix(f[1], "/go.mod"); !semver.IsValid(v) {
			return bad(n, fmt.Sprintf("%q is not a module version", clipped(f[1])))
		}
		h, ok := strings.CutPrefix(f[2], "h1:")
		if b, err := base64.StdEncoding.DecodeString(h); !ok || err != nil || len(b) != 32 {
			return bad(n, fmt.Sprintf("%q is not an h1: hash", clipped(f[2])))
		}
		k := f[0] + " " + f[1]
		if prev, ok := seen[k]; ok && prev != f[2] {
			return bad(n, fmt.Sprintf("%s %s has two different hashes", f[0], f[1]))
		}
		seen[k] = f[2]
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: go.sum: %w", name, err)
	}
	return nil
}

func clipped(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// checkVendor compares vendor/modules.txt with go.mod's requirements the
// way the go command does before it builds from vendor/: every required
// module vendored at its version, and nothing marked explicit that go.mod
// does not require.
func checkVendor(fsys fs.FS, name string, mf *modfile.File) error {
	st, err := fs.Stat(fsys, "vendor")
	if err != nil || !st.IsDir() {
		return nil
	}
	hint := "run `go mod vendor` (or remove vendor/)"
	data, err := fs.ReadFile(fsys, "vendor/modules.txt")
	if errors.Is(err, fs.ErrNotExist) {
		if len(mf.Require) == 0 {
			return nil
		}
		return fmt.Errorf("%s: vendor/ has no modules.txt, so it is inconsistent with go.mod: %s", name, hint)
	}
	if err != nil {
		return fmt.Errorf("%s: vendor/modules.txt: %w", name, err)
	}
	vendored := map[string]string{} // path -> version
	explicit := map[string]bool{}
	current := ""
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "# "):
			f := strings.Fields(line[2:])
			current = ""
			if len(f) >= 2 && f[1] != "=>" {
				current = f[0]
				vendored[f[0]] = f[1]
			}
		case strings.HasPrefix(line, "## ") && current != "":
			for _, m := range strings.Split(line[3:], ";") {
				if strings.TrimSpace(m) == "explicit" {
					explicit[current] = true
				}
			}
		}
	}
	required := map[string]bool{}
	var problems []string
	for _, r := range mf.Require {
		required[r.Mod.Path] = true
		switch v, ok := vendored[r.Mod.Path]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s %s is required but not vendored", r.Mod.Path, r.Mod.Version))
		case v != r.Mod.Version:
			problems = append(problems, fmt.Sprintf("%s is required at %s but vendored at %s", r.Mod.Path, r.Mod.Version, v))
		}
	}
	for p := range explicit {
		if !required[p] {
			problems = append(problems, fmt.Sprintf("%s is vendored as explicit but go.mod does not require it", p))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	more := ""
	if len(problems) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(problems)-1)
	}
	return fmt.Errorf("%s: vendor/modules.txt is inconsistent with go.mod: %s%s: %s", name, problems[0], more, hint)
}

// checkHasPackages refuses a module with no Go file that ./... could
// match: outside vendor/, testdata, directories go ignores (. and _) and
// nested modules.
func checkHasPackages(fsys fs.FS, name string) error {
	found := errors.New("found")
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts were reported before
		}
		if d.IsDir() {
			base := path.Base(p)
			if p != "." && (base == "vendor" || base == "testdata" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
				return fs.SkipDir
			}
			if p != "." {
				if _, err := fs.Stat(fsys, path.Join(p, "go.mod")); err == nil {
					return fs.SkipDir // another module
				}
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") && !strings.HasPrefix(path.Base(p), ".") && !strings.HasPrefix(path.Base(p), "_") {
			return found
		}
		return nil
	})
	if err == found {
		return nil
	}
	return fmt.Errorf("%s: no Go packages in the module (no .go file outside vendor/, testdata and nested modules): nothing to test", name)
}

// checkReadable refuses a source whose files the cells' user cannot read
// or whose directories it cannot list: each step would fail with
// "permission denied" (a module made under umask 077 is one).
func checkReadable(fsys fs.FS, name, chmodDir string) error {
	var bad []string
	n := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// Not even this user can read it.
			n++
			if len(bad) < 3 {
				bad = append(bad, p+" (unreadable here too)")
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() && d.Name() == ".git" && p != "." {
			return fs.SkipDir // not read by go or the tests
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // resolved inside the cell
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if !cellCanRead(info) {
			n++
			if len(bad) < 3 {
				shown := p
				if p == "." {
					shown = chmodDir
				}
				bad = append(bad, fmt.Sprintf("%s (mode %04o)", shown, info.Mode().Perm()))
			}
			if d.IsDir() {
				return fs.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n == 0 {
		return nil
	}
	more := ""
	if n > len(bad) {
		more = fmt.Sprintf(" and %d more", n-len(bad))
	}
	return fmt.Errorf("%s: the cells cannot read %s%s (their steps run as uid %d, not as you): run chmod -R a+rX %s",
		name, strings.Join(bad, ", "), more, CellUID, shellQuote(chmodDir))
}

// cellCanRead reports whether uid CellUID (group CellGID) may read a file,
// or list and enter a directory, by its mode bits.
func cellCanRead(info fs.FileInfo) bool {
	perm := info.Mode().Perm()
	shift := 0 // others
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		switch {
		case st.Uid == CellUID:
			shift = 6
		case st.Gid == CellGID:
			shift = 3
		}
	}
	need := fs.FileMode(4) // r
	if info.IsDir() {
		need = 5 // r-x
	}
	return (perm>>shift)&need == need
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

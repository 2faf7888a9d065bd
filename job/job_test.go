package job

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSourceCopyArgs runs the copy prelude with the real sh: every entry
// (hidden ones, directories, modes) is copied, the kept files are left to
// what is already at the destination, and the command runs there.
func TestSourceCopyArgs(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for name, mode := range map[string]os.FileMode{"a.go": 0o644, ".hidden": 0o644, "run.sh": 0o755, "sub/b.go": 0o644, "go.mod": 0o644, "go.sum": 0o644} {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("src "+name), mode); err != nil {
			t.Fatal(err)
		}
	}
	// The runtime mounts go.mod read-only at the destination before the step.
	os.WriteFile(filepath.Join(dst, "go.mod"), []byte("mounted"), 0o444)

	args := SourceCopyArgs(src, dst, []string{"go.mod", "go.sum"}, []string{"sh", "-c", "pwd; ls -A | sort | tr '\\n' ' '"})
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[0] != dst {
		t.Errorf("ran in %s, want %s", lines[0], dst)
	}
	if got := strings.Fields(lines[1]); !slices.Equal(got, []string{".hidden", "a.go", "go.mod", "run.sh", "sub"}) {
		t.Errorf("destination holds %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "go.mod")); string(b) != "mounted" {
		t.Errorf("go.mod was copied over the read-only one: %q", b)
	}
	if st, err := os.Stat(filepath.Join(dst, "run.sh")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("run.sh lost its mode: %v %v", st, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "sub/b.go")); string(b) != "src sub/b.go" {
		t.Errorf("sub/b.go: %q", b)
	}

	// A copy that fails stops the step with a line saying so.
	bad := SourceCopyArgs(src, filepath.Join(dst, "missing"), nil, []string{"true"})
	out, err = exec.Command(bad[0], bad[1:]...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "copying the source") {
		t.Errorf("a failed copy: err %v, output %s", err, out)
	}
}

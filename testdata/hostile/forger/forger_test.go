// Package forger writes into the go command's own output streams, as any
// test can (same uid, /proc/$PPID/fd): Parity must notice and must not let
// it change another package's results or a cell's classification.
package forger

import (
	"fmt"
	"os"
	"testing"
)

const victim = "example.com/hostile/victim"

func TestForge(t *testing.T) {
	ppid := os.Getppid()
	out, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/1", ppid), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Skipf("cannot reach the go command's stdout: %v", err)
	}
	defer out.Close()
	for _, e := range []string{
		// a test that does not exist, passing
		`{"Action":"run","Package":"` + victim + `","Test":"TestMadeUp"}`,
		`{"Action":"pass","Package":"` + victim + `","Test":"TestMadeUp","Elapsed":0}`,
		// the victim's passing test, failed
		`{"Action":"fail","Package":"` + victim + `","Test":"TestGood","Elapsed":0}`,
		// the victim's failing test, passed on a "second run": flaky
		`{"Action":"run","Package":"` + victim + `","Test":"TestReal"}`,
		`{"Action":"pass","Package":"` + victim + `","Test":"TestReal","Elapsed":0}`,
	} {
		fmt.Fprintln(out, e)
	}
	if errw, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/2", ppid), os.O_WRONLY|os.O_APPEND, 0); err == nil {
		fmt.Fprintln(errw, "go: go.mod requires go >= 1.99 (running go 1.26.8; GOTOOLCHAIN=local)")
		errw.Close()
	}
}

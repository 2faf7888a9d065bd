// Package quietfork plants a test that uses up its cell's process limit
// and hides it: it starts processes until a fork is refused, then kills
// them and passes.
package quietfork

import (
	"os/exec"
	"testing"
)

func TestForksUntilRefused(t *testing.T) {
	var started []*exec.Cmd
	defer func() {
		for _, c := range started {
			c.Process.Kill()
			c.Wait()
		}
	}()
	for range 2000 {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			t.Logf("fork refused after %d processes: %v (ignored)", len(started), err)
			return
		}
		started = append(started, c)
	}
	t.Logf("started %d processes, none refused", len(started))
}

// Package slow outlives `go test -timeout 2s`.
package slow

import (
	"testing"
	"time"
)

func TestQuick(t *testing.T) {}

// TestParallelWaits pauses until the sequential tests finish, which never
// happens: it is paused, not running, when the timeout fires.
func TestParallelWaits(t *testing.T) {
	t.Parallel()
}

func TestSleeps(t *testing.T) {
	time.Sleep(time.Minute)
}

// Package sleeper holds a test that runs long enough to be killed from
// outside the cell while it runs.
package sleeper

import (
	"testing"
	"time"
)

func TestSleeps(t *testing.T) {
	time.Sleep(20 * time.Second)
}

// Package gopanic panics in a goroutine a test started: testing cannot
// recover it, so the binary dies with no terminal event for the test.
package gopanic

import (
	"testing"
	"time"
)

func TestGoroutinePanics(t *testing.T) {
	go func() { panic("planted panic in a goroutine") }()
	time.Sleep(5 * time.Second)
}

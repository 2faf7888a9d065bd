package r

import (
	"sync"
	"testing"
)

func TestParent(t *testing.T) {
	t.Run("racy", func(t *testing.T) {
		n := 0
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); n++ }()
		}
		wg.Wait()
		_ = n
	})
	t.Run("fine", func(t *testing.T) {})
}

// Package racy has a data race that only -race reports.
package racy

import (
	"sync"
	"testing"
)

func TestRacyCounter(t *testing.T) {
	var counter int
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				counter++
			}
		}()
	}
	wg.Wait()
	t.Logf("counter = %d", counter)
}

func TestCalm(t *testing.T) {}

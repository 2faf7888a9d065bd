// Package initpanic panics before any test starts.
package initpanic

import "testing"

func init() { panic("planted panic in init") }

func TestNeverRuns(t *testing.T) {}

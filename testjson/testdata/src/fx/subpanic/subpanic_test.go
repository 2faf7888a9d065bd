// Package subpanic has a subtest that panics.
package subpanic

import "testing"

func TestTable(t *testing.T) {
	t.Run("fine", func(t *testing.T) {})
	t.Run("explodes", func(t *testing.T) { panic("planted panic in a subtest") })
	t.Run("never", func(t *testing.T) {})
}

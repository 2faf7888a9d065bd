package atomic64

import "testing"

// TestCounterAdds panics with "unaligned 64-bit atomic operation" on 386.
func TestCounterAdds(t *testing.T) {
	c := new(Counter)
	if got := c.Add(2); got != 2 {
		t.Fatalf("Add(2) = %d, want 2", got)
	}
}

package wordsize

import "testing"

// TestMillisOfAMonth wraps on 32-bit platforms only: 30 days of seconds
// times 1000 is 2592000000, above 2^31-1.
func TestMillisOfAMonth(t *testing.T) {
	const month = 30 * 24 * 3600
	if got := int64(Millis(month)); got != 2_592_000_000 {
		t.Fatalf("Millis(%d) = %d, want 2592000000: int wrapped", month, got)
	}
}

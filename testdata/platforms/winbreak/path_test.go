package winbreak

import "testing"

func TestJoin(t *testing.T) {
	if got := Join("a", "b"); got != "a"+sep+"b" {
		t.Fatalf("Join = %q", got)
	}
}

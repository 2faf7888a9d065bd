package sv

import (
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	n := 0
	for range strings.Lines("a\nb\n") {
		n++
	}
	if n != 2 {
		t.Fatal(n)
	}
}

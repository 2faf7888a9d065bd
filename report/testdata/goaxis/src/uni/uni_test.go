package uni

import (
	"testing"
	"unicode"
)

// TestUnicodeVersion pins the Unicode tables the test was written against.
func TestUnicodeVersion(t *testing.T) {
	if unicode.Version != "15.0.0" {
		t.Errorf("unicode.Version = %q, want %q", unicode.Version, "15.0.0")
	}
}

// TestRuneCategory checks a rune assigned in Unicode 16 (CYRILLIC CAPITAL LETTER TJE).
func TestRuneCategory(t *testing.T) {
	if r := '\u1C89'; unicode.IsUpper(r) {
		t.Errorf("unicode.IsUpper(%U) = true, want false", r)
	}
}

package upperkey

import (
	"testing"
	"unicode"
)

// Keys as an index built with Go 1.26.8 stored them. Its Unicode 15.0.0
// tables give ɤ (U+0264, LATIN SMALL LETTER RAMS HORN) no upper case;
// Unicode 16.0.0 added Ꟍ (U+A7CB) as its capital, so a Go with newer
// tables makes another key, and the stored entry is no longer found.
var stored = []struct{ name, key string }{
	{"anna", "ANNA"},
	{"éva", "ÉVA"},
	{"ɤa", "ɤA"},
}

func TestKeysMatchTheStoredIndex(t *testing.T) {
	for _, s := range stored {
		if got := Key(s.name); got != s.key {
			// unicode.Version only names the tables that made the key.
			t.Errorf("Key(%q) = %q, want %q as stored (Unicode %s)", s.name, got, s.key, unicode.Version)
		}
	}
}

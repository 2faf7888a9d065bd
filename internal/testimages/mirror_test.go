package testimages

import (
	"os"
	"strings"
	"testing"
)

// TestHostDebianMirror: the stand-in's source comes from the archive apt
// is set up with, on a machine that has one.
func TestHostDebianMirror(t *testing.T) {
	if _, err := os.Stat("/etc/apt"); err != nil {
		t.Skip("not a Debian machine")
	}
	m := hostDebianMirror()
	if m == "" || !strings.HasSuffix(m, "/debian") || !strings.Contains(m, "://") {
		t.Fatalf("mirror %q", m)
	}
}

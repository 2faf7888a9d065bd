package matrix

import (
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	got, err := ParseTargets([]string{"windows/amd64", " Darwin/ARM64", "freebsd/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != (Target{"windows", "amd64"}) || got[1].String() != "darwin/arm64" {
		t.Fatalf("targets = %v", got)
	}
	for in, want := range map[string]string{
		"windows":         "want GOOS/GOARCH",
		"windows/":        "want GOOS/GOARCH",
		"linux/arm/v7":    "want GOOS/GOARCH",
		"windows/s390x":   "Go does not build for it",
		"macos/arm64":     "Go does not build for it",
		"windows/amd64,x": "Go does not build for it",
	} {
		if _, err := ParseTarget(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTarget(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := ParseTargets([]string{"windows/amd64", "WINDOWS/amd64"}); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate: %v", err)
	}
}

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestCleanRefusesAScopeWithoutAll: the scope narrows what --all removes;
// alone it would be silently ignored, so it is refused before any daemon is
// asked.
func TestCleanRefusesAScopeWithoutAll(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"clean", "--cache-scope", "x"}, &out, &errOut); code != exitError || !strings.Contains(errOut.String(), "--cache-scope needs --all") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}

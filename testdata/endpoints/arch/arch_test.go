package arch

import (
	"runtime"
	"testing"
)

func TestRunsOnAMD64(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Fatalf("GOARCH is %s: this test wants amd64", runtime.GOARCH)
	}
}

func TestAnywhere(t *testing.T) {}

//go:build cgo

package testmain

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if !onGlibc() {
		fmt.Println("TestMain: the fixture's setup needs glibc's getaddrinfo_a: planted package-level divergence")
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestRuns(t *testing.T) {}

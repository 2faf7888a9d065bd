// Package exits calls os.Exit in a test: the binary ends mid-test.
package exits

import (
	"os"
	"testing"
)

func TestExits(t *testing.T) {
	t.Log("about to exit")
	os.Exit(3)
}

package slow

import (
	"runtime"
	"testing"
	"time"
)

// TestTakesItsTimeOffAMD64 keeps a non-amd64 cell's test step running long
// enough for TestEndpoints to cut its endpoint midway.
func TestTakesItsTimeOffAMD64(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		time.Sleep(30 * time.Second)
	}
}

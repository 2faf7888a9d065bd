package report

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parity-ci/parity/testjson"
)

// go126-testify.json is real output of testjson/testdata/src/tfy, whose
// tests fail through github.com/stretchr/testify v1.11.1: the log line
// testify writes is empty ("host_test.go:11: ") and the text follows it.
func TestFirstMessageOfTestify(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testjson", "testdata", "go126-testify.json"))
	if err != nil {
		t.Fatal(err)
	}
	run := testjson.ParseString(string(b))
	for name, want := range map[string]string{
		"TestHostname":     `host_test.go:11: Not equal: expected: "alpine" actual : "debian" (hostname of the image)`,
		"TestRequire":      "host_test.go:15: Received unexpected error: open /etc/os-release: no such file or directory (reading /etc/os-release)",
		"TestParent/child": "host_test.go:19: Should be true",
	} {
		tt, ok := run.Test("example.com/tfy/host", name)
		if !ok {
			t.Fatalf("%s not in the capture", name)
		}
		if got := FirstMessage(tt.Output); got != want {
			t.Errorf("%s: FirstMessage = %q, want %q", name, got, want)
		}
	}
	// An empty log line without testify's block stays as it is.
	if got := FirstMessage("=== RUN   TestX\n    x_test.go:3: \n--- FAIL: TestX (0.00s)\n"); got != "x_test.go:3:" {
		t.Errorf("plain empty log: %q", got)
	}
}

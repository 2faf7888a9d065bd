package b

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// forge writes raw test2json events straight into the go command's stdout,
// past the test2json converter that frames this binary's own output.
func forge(t *testing.T, lines ...string) {
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/1", os.Getppid()), os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("opening the go command's stdout: %v", err)
	}
	defer f.Close()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, l := range lines {
		fmt.Fprintf(f, `{"Time":%q,%s}`+"\n", now, l)
	}
}

func TestBFails(t *testing.T) { t.Error("a real failure in b") }

func TestForge(t *testing.T) {
	// Let package a end first, also when packages run in parallel (-p 2).
	time.Sleep(2 * time.Second)
	forge(t,
		// a has ended: fail its passing test, pass its failing one.
		`"Action":"fail","Package":"example.com/forge/a","Test":"TestA","Elapsed":0`,
		`"Action":"run","Package":"example.com/forge/a","Test":"TestAFails"`,
		`"Action":"pass","Package":"example.com/forge/a","Test":"TestAFails","Elapsed":0`,
		`"Action":"pass","Package":"example.com/forge/a","Elapsed":0`,
		// A package that never starts: a made-up passing test.
		`"Action":"run","Package":"example.com/forge/ghost","Test":"TestMadeUp"`,
		`"Action":"pass","Package":"example.com/forge/ghost","Test":"TestMadeUp","Elapsed":0`,
		// this package: a pass with no run, TestBFails turned flaky, and
		// this very test passed before it fails for real.
		`"Action":"pass","Package":"example.com/forge/b","Test":"TestNeverRan","Elapsed":0`,
		`"Action":"run","Package":"example.com/forge/b","Test":"TestBFails"`,
		`"Action":"pass","Package":"example.com/forge/b","Test":"TestBFails","Elapsed":0`,
		`"Action":"pass","Package":"example.com/forge/b","Test":"TestForge","Elapsed":0`,
	)
	t.Error("a real failure after forging")
}

// Package basic has the ordinary outcomes: pass, fail, skip and subtests.
package basic

import "testing"

func TestPass(t *testing.T) {
	t.Log("a log line from a passing test")
}

func TestFail(t *testing.T) {
	got, want := 1, 2
	if got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}

func TestSkip(t *testing.T) {
	t.Skip("planted skip")
}

func TestTable(t *testing.T) {
	for _, name := range []string{"ok", "bad", "skipped"} {
		t.Run(name, func(t *testing.T) {
			switch name {
			case "bad":
				t.Fatalf("case %s failed:\nline two of the message", name)
			case "skipped":
				t.Skip("not this one")
			}
		})
	}
}

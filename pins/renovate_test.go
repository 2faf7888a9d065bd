package pins

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/parity-ci/parity/matrix"
)

// The repository's renovate.json must keep finding every pin in the lock
// format Marshal writes, and in the built-in pins: if either format changes,
// Renovate would silently stop updating digests.
func TestRenovateConfigMatchesPins(t *testing.T) {
	data, err := os.ReadFile("../renovate.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		CustomManagers []struct {
			CustomType          string
			ManagerFilePatterns []string
			MatchStrings        []string
			DatasourceTemplate  string
		}
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.CustomManagers) != 2 {
		t.Fatalf("%d custom managers, want 2", len(cfg.CustomManagers))
	}
	// Renovate's "/…/" file patterns and named groups are valid Go regexps.
	compile := func(s string) *regexp.Regexp {
		t.Helper()
		re, err := regexp.Compile(strings.TrimSuffix(strings.TrimPrefix(s, "/"), "/"))
		if err != nil {
			t.Fatal(err)
		}
		return re
	}

	lockMgr, goMgr := cfg.CustomManagers[0], cfg.CustomManagers[1]
	for _, m := range cfg.CustomManagers {
		if m.CustomType != "regex" || m.DatasourceTemplate != "docker" || len(m.MatchStrings) != 1 {
			t.Fatalf("manager %+v", m)
		}
	}
	files := compile(lockMgr.ManagerFilePatterns[0])
	for _, f := range []string{"parity.lock.json", "svc/api/parity.lock.json"} {
		if !files.MatchString(f) {
			t.Errorf("file pattern misses %s", f)
		}
	}
	if files.MatchString("parity.lock.json.bak") || files.MatchString("myparity.lock.json") {
		t.Error("file pattern matches other files")
	}

	lock := matrix.Lock{Pins: append(matrix.Builtin(), matrix.Pin{
		Go: "1.25.9", Libc: matrix.Musl,
		Image: "127.0.0.1:5000/parity-test/golang:1.25.9-alpine3.22@sha256:" + strings.Repeat("ab", 32),
	})}
	re := compile(lockMgr.MatchStrings[0])
	got := re.FindAllStringSubmatch(string(lock.Marshal()), -1)
	if len(got) != len(lock.Pins) {
		t.Fatalf("matched %d pins of %d in:\n%s", len(got), len(lock.Pins), lock.Marshal())
	}
	for i, m := range got {
		want, _ := matrix.ParseRef(lock.Pins[i].Image)
		if g := (matrix.Ref{Repo: m[re.SubexpIndex("depName")], Tag: m[re.SubexpIndex("currentValue")], Digest: m[re.SubexpIndex("currentDigest")]}); g != want {
			t.Errorf("pin %d: captured %+v, want %+v", i, g, want)
		}
	}

	src, err := os.ReadFile("../matrix/builtin.go")
	if err != nil {
		t.Fatal(err)
	}
	if !compile(goMgr.ManagerFilePatterns[0]).MatchString("matrix/builtin.go") {
		t.Error("second manager does not look at matrix/builtin.go")
	}
	if n := len(compile(goMgr.MatchStrings[0]).FindAllString(string(src), -1)); n != len(matrix.Builtin()) {
		t.Errorf("matched %d built-in pins, want %d", n, len(matrix.Builtin()))
	}
}

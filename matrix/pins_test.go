package matrix

import (
	"fmt"
	"strings"
	"testing"
)

const goodDigest = "sha256:4cb7ac979db5fcc41cae44b2227ba5ab8a51e8807f40d9ba4dee20a0ad960b5b"

func TestParseRef(t *testing.T) {
	for in, want := range map[string]Ref{
		"golang:1.27.1-alpine3.24@" + goodDigest:          {Repo: "golang", Tag: "1.27.1-alpine3.24", Digest: goodDigest},
		"127.0.0.1:5000/parity-test/golang@" + goodDigest: {Repo: "127.0.0.1:5000/parity-test/golang", Digest: goodDigest},
		"ghcr.io/org/img:v1":                              {Repo: "ghcr.io/org/img", Tag: "v1"},
		"localhost:5000/img":                              {Repo: "localhost:5000/img"},
	} {
		got, err := ParseRef(in)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
}

func TestParsePinnedRefusesWithFix(t *testing.T) {
	_, err := ParsePinned("golang:1.27.1-alpine3.24")
	if err == nil || !strings.Contains(err.Error(), "not pinned by digest") || !strings.Contains(err.Error(), "golang:1.27.1-alpine3.24@sha256:<index digest>") {
		t.Fatalf("unpinned: %v", err)
	}
	for _, bad := range []string{
		"golang:1.27.1@sha256:abc",               // short digest
		"golang:1.27.1@sha512:" + goodDigest[7:], // wrong algorithm
		"Golang:1.27@" + goodDigest,              // uppercase repo
		"golang:bad tag@" + goodDigest,
	} {
		if _, err := ParsePinned(bad); err == nil {
			t.Errorf("ParsePinned(%q) accepted", bad)
		}
	}
}

func TestLookupNamesCellAndFix(t *testing.T) {
	pins := Pins{{Go: "1.27.1", Libc: Musl, Image: "golang:1.27.1-alpine3.24"}}
	_, _, err := pins.Lookup(Cell{"1.27.1", Musl, ARM64})
	if err == nil || !strings.Contains(err.Error(), "cell go1.27.1/musl/arm64") || !strings.Contains(err.Error(), "not pinned") {
		t.Fatalf("unpinned pin: %v", err)
	}
	_, _, err = pins.Lookup(Cell{"1.20.1", Glibc, AMD64})
	if err == nil || !strings.Contains(err.Error(), "no image pinned for Go 1.20.1") {
		t.Fatalf("missing pin: %v", err)
	}
}

func TestLockOverridesBuiltin(t *testing.T) {
	other := "sha256:" + strings.Repeat("a", 64)
	lock, err := ParseLock([]byte(`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"mirror.example/golang:1.27.1-alpine3.24@` + other + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	pins := Builtin().Merge(lock.Pins)
	_, ref, err := pins.Lookup(Cell{"1.27.1", Musl, AMD64})
	if err != nil || ref.Digest != other || ref.Repo != "mirror.example/golang" {
		t.Fatalf("Lookup = %v, %v", ref, err)
	}
	if _, ref, _ := pins.Lookup(Cell{"1.26.8", Glibc, AMD64}); ref.Tag != "1.26.8-trixie" {
		t.Fatalf("built-in pin lost: %v", ref)
	}
}

func TestParseLockErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"version":   {`{"version":2,"pins":[]}`, "this Parity reads version 1"},
		"unknown":   {`{"version":1,"pinz":[]}`, "unknown field"},
		"unpinned":  {`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1"}]}`, "pin 1 (go \"1.27.1\", libc \"musl\"): image \"golang:1.27.1\" is not pinned"},
		"libc":      {`{"version":1,"pins":[{"go":"1.27.1","libc":"uclibc","image":"golang@` + goodDigest + `"}]}`, "libc must be glibc or musl"},
		"duplicate": {`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang@` + goodDigest + `"},{"go":"1.27.1","libc":"musl","image":"golang@` + goodDigest + `"}]}`, "duplicate pin"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseLock([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBuiltinPinsAreValid(t *testing.T) {
	l := Lock{Version: LockVersion, Pins: Builtin()}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	back, err := ParseLock(l.Marshal())
	if err != nil || len(back.Pins) != 4 {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if got := Builtin().GoVersions(); len(got) != 2 || got[0] != "1.27.1" {
		t.Fatalf("GoVersions = %v", got)
	}
}

// A lock with anything after its one JSON object (a second object, the rest
// of a merge conflict) is refused: the run must not use half of it.
func TestParseLockRefusesTrailingContent(t *testing.T) {
	one := `{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang@` + goodDigest + `"}]}`
	for name, data := range map[string]string{
		"second object":   one + "\n" + one,
		"conflict marker": one + "\n>>>>>>> theirs\n",
		"garbage":         one + " x",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseLock([]byte(data)); err == nil || !strings.Contains(err.Error(), "after the lock") {
				t.Fatalf("ParseLock: err = %v, want trailing content refused", err)
			}
			if _, err := DecodeLock([]byte(data)); err == nil {
				t.Fatal("DecodeLock accepted trailing content")
			}
		})
	}
	if _, err := ParseLock([]byte(one + "\n\n")); err != nil {
		t.Fatalf("trailing white space refused: %v", err)
	}
}

// Many bad pins make one line that counts them, not one line each.
func TestLockCheckIsOneLine(t *testing.T) {
	_, err := ParseLock([]byte(`{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:a"},{"go":"1.27.1","libc":"glibc","image":"golang:b"},{"go":"1.x","libc":"glibc","image":"golang@` + goodDigest + `"}]}`))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "3 bad pins") {
		t.Fatalf("err = %q, want one line counting 3 bad pins", err)
	}
}

// The pins a missing-pin error lists are each (Go, libc) once, even when a
// lock overrides the built-in ones.
func TestLookupListsPinnedPairsOnce(t *testing.T) {
	pins := Builtin().Merge(Builtin())
	_, _, err := pins.Lookup(Cell{"1.25.0", Glibc, AMD64})
	if err == nil || strings.Count(err.Error(), "go1.27.1/musl") != 1 {
		t.Fatalf("err = %v, want each pinned pair once", err)
	}
}

func TestMissing(t *testing.T) {
	cells, err := Expand(Spec{Go: []string{"1.25.0", "1.27.1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = Builtin().Covers(cells)
	if err == nil || strings.Contains(err.Error(), "\n") || strings.Count(err.Error(), "go1.25.0/glibc") != 1 || !strings.Contains(err.Error(), "go1.25.0/musl") || strings.Count(err.Error(), "go1.27.1/musl") != 1 {
		t.Fatalf("err = %v", err)
	}
	if err := Builtin().Covers(cells[:4]); err != nil {
		t.Fatalf("covered cells: %v", err)
	}
}

func TestParseMirror(t *testing.T) {
	for in, want := range map[string][2]string{
		"mirror.example":            {"mirror.example", ""},
		"127.0.0.1:5000/dockerhub/": {"127.0.0.1:5000", "dockerhub"},
		"localhost":                 {"localhost", ""},
	} {
		h, p, err := ParseMirror(in)
		if err != nil || h != want[0] || p != want[1] {
			t.Errorf("ParseMirror(%q) = %q %q %v", in, h, p, err)
		}
	}
	for _, bad := range []string{"https://mirror.example", "mirror", "", "mirror.example/../x", "mirror.example:port", "-x.example", "mirror.example/Upper"} {
		if _, _, err := ParseMirror(bad); err == nil {
			t.Errorf("ParseMirror(%q) accepted", bad)
		}
	}
}

// Lock errors name the file the user gave, whatever is wrong with it, and
// an empty file is refused rather than read as "no pins".
func TestLockErrorsNameTheFile(t *testing.T) {
	for name, data := range map[string]string{
		"empty":    "",
		"blank":    " \n",
		"not json": "pins: yes",
		"array":    "[]",
		"version":  `{"version":2,"pins":[]}`,
		"unknown":  `{"version":1,"pinz":[]}`,
		"trailing": `{"version":1,"pins":[]} x`,
		"unpinned": `{"version":1,"pins":[{"go":"1.27.1","libc":"musl","image":"golang:1.27.1"}]}`,
		"bad go":   `{"version":1,"pins":[{"go":"banana","libc":"musl","image":"golang@` + goodDigest + `"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseLockFile("other.json", []byte(data))
			if err == nil || !strings.HasPrefix(err.Error(), "other.json: ") || strings.Contains(err.Error(), LockFile) {
				t.Fatalf("err = %v, want it to start with other.json and not name %s", err, LockFile)
			}
		})
	}
}

// A lock of very many bad pins is one short line: the first few, then a count.
func TestManyBadPinsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"version":1,"pins":[`)
	for i := range 10000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"go":"1.27.1","libc":"musl","image":"golang:` + strings.Repeat("x", 120) + `"}`)
	}
	b.WriteString("]}")
	_, err := ParseLockFile("big.json", []byte(b.String()))
	if err == nil || len(err.Error()) > 3000 || !strings.Contains(err.Error(), "10000 bad pins") || !strings.Contains(err.Error(), "and 9995 more") {
		t.Fatalf("err (%d bytes) = %.300s", len(fmt.Sprint(err)), err)
	}
}

func TestParseMirrorRefusesAPortOutOfRange(t *testing.T) {
	for _, bad := range []string{"mirror.example:99999", "mirror.example:0", "localhost:65536"} {
		if _, _, err := ParseMirror(bad); err == nil || !strings.Contains(err.Error(), "port") {
			t.Errorf("ParseMirror(%q): err = %v", bad, err)
		}
	}
	if _, _, err := ParseMirror("mirror.example:65535"); err != nil {
		t.Error(err)
	}
}

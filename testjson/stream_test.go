package testjson

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// streamed feeds s to a Stream in chunks of random sizes, as an attach
// stream delivers them.
func streamed(t *testing.T, stdout, stderr string, seed uint64) (Run, int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	st := NewStream()
	for rest := stdout; rest != ""; {
		n := min(len(rest), 1+r.IntN(300))
		if k, err := st.Write([]byte(rest[:n])); k != n || err != nil {
			t.Fatalf("Write: %d %v", k, err)
		}
		rest = rest[n:]
	}
	st.Stderr(stderr)
	return st.Finish(), st.Finished()
}

// TestStreamMatchesParseOutput: whatever the chunking, a streamed parse is
// the parse of the whole output, on every captured stream.
func TestStreamMatchesParseOutput(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 5 {
		t.Fatalf("captured streams: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		stderr, _ := os.ReadFile(strings.TrimSuffix(f, ".json") + ".stderr")
		want := ParseOutput(string(b), string(stderr))
		for seed := range uint64(3) {
			got, finished := streamed(t, string(b), string(stderr), seed)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s (seed %d): streamed parse differs from ParseOutput", f, seed)
			}
			results := 0
			for _, tt := range want.Tests {
				results += len(tt.Runs)
			}
			// Tests closed by their package's end have no result event.
			if finished == 0 && results > 0 || finished > results {
				t.Errorf("%s: %d finished counted, %d test runs", f, finished, results)
			}
		}
	}
}

// TestStreamKilledMidLine: a last line without its newline is what a killed
// process leaves; the stream says so, like Parse.
func TestStreamKilledMidLine(t *testing.T) {
	in := `{"Action":"run","Package":"p","Test":"TestA"}` + "\n" + `{"Action":"outp`
	got, _ := streamed(t, in, "", 1)
	if !got.Truncated || !reflect.DeepEqual(got, ParseString(in)) {
		t.Fatalf("got %+v", got)
	}
}

// TestStreamBoundsALongLine: a line without a newline for ever (not an
// event) is kept as capped text, not held whole.
func TestStreamBoundsALongLine(t *testing.T) {
	st := NewStream()
	chunk := []byte(strings.Repeat("y", 64<<10))
	for range 64 { // 4 MiB, no newline
		st.Write(chunk)
		if len(st.partial) > MaxLine {
			t.Fatalf("holding %d bytes of one line", len(st.partial))
		}
	}
	run := st.Finish()
	if len(run.Unattributed) > 2*MaxOutput || !strings.Contains(run.Unattributed, TruncationMarker) {
		t.Fatalf("unattributed holds %d bytes", len(run.Unattributed))
	}
}

func TestStreamCountsFinishedTests(t *testing.T) {
	st := NewStream()
	st.Write([]byte(`{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"{\"Action\":\"pass\",\"Test\":\"X\"}\n"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p","Test":"TestB","Elapsed":0}
{"Action":"pass","Package":"p","Elapsed":0}
`))
	if n := st.Finished(); n != 2 {
		t.Fatalf("finished %d, want 2 (a result printed by a test is output, not a result)", n)
	}
}

func TestCapWriter(t *testing.T) {
	w := NewCapWriter(1000)
	for range 100 {
		w.Write([]byte(strings.Repeat("z", 99) + "\n"))
	}
	s, cut := w.String()
	if !cut || len(s) > 1100 || !strings.Contains(s, TruncationMarker) || w.Len() != 10000 {
		t.Fatalf("kept %d bytes, cut %v, len %d", len(s), cut, w.Len())
	}
}

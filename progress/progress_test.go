package progress

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuf is a bytes.Buffer that the ticker goroutine and the test can share.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

const (
	musl  = "go1.26.8/musl/amd64"
	glibc = "go1.26.8/glibc/amd64"
)

func run(p *Printer, c *clock) {
	p.Handle(Event{Cell: musl, Kind: Started})
	p.Handle(Event{Cell: glibc, Kind: Started})
	p.Handle(Event{Cell: musl, Kind: Step, Step: "deps"})
	c.advance(4100 * time.Millisecond)
	p.Handle(Event{Cell: musl, Kind: Step, Step: "deps", Status: StepDone, Elapsed: 4100 * time.Millisecond})
	p.Handle(Event{Cell: musl, Kind: Step, Step: "test"})
	p.Handle(Event{Cell: glibc, Kind: Step, Step: "deps", Status: StepFailed, Elapsed: 2 * time.Second})
	p.Handle(Event{Cell: glibc, Kind: Done, Status: StatusError, Step: "deps"})
	c.advance(8 * time.Second)
	p.Handle(Event{Cell: musl, Kind: Done, Status: StatusPassed, Pass: 41, Skip: 2, Elapsed: 38 * time.Second})
}

func TestPlainLines(t *testing.T) {
	var out bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	p := newPrinter(&out, false, c.now, time.Millisecond)
	run(p, c)
	p.Logf("note: %d cells", 2)
	p.Close()
	p.Handle(Event{Cell: musl, Kind: Started}) // after Close: dropped
	want := `[parity] go1.26.8/musl/amd64: started
[parity] go1.26.8/glibc/amd64: started
[parity] go1.26.8/musl/amd64: deps started
[parity] go1.26.8/musl/amd64: deps done (4.1s)
[parity] go1.26.8/musl/amd64: test started
[parity] go1.26.8/glibc/amd64: deps failed (2.0s)
[parity] go1.26.8/glibc/amd64: error in deps (4.1s)
[parity] go1.26.8/musl/amd64: passed — 41 pass, 0 fail, 2 skip (38s)
note: 2 cells
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Error("plain output holds escape sequences")
	}
}

// screen interprets the escape sequences the Printer uses, to check what a
// terminal would actually show.
func screen(t *testing.T, s string) []string {
	t.Helper()
	var lines [][]rune
	row, col := 0, 0
	csi := regexp.MustCompile(`^\x1b\[(\d*)([AKJ])`)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		for len(lines) <= row {
			lines = append(lines, nil)
		}
		switch r := rs[i]; r {
		case '\r':
			col = 0
		case '\n':
			row, col = row+1, 0
		case '\x1b':
			m := csi.FindStringSubmatch(string(rs[i:min(i+12, len(rs))]))
			if m == nil {
				t.Fatalf("unknown escape at %q", string(rs[i:min(i+8, len(rs))]))
			}
			n, _ := strconv.Atoi(m[1])
			switch m[2] {
			case "A":
				row = max(0, row-max(n, 1))
			case "K":
				if n != 2 {
					t.Fatalf("unexpected \\x1b[%sK", m[1])
				}
				lines[row] = nil
			case "J":
				lines[row] = lines[row][:min(col, len(lines[row]))]
				lines = lines[:row+1]
			}
			i += len([]rune(m[0])) - 1
		default:
			for len(lines[row]) <= col {
				lines[row] = append(lines[row], ' ')
			}
			lines[row][col] = r
			col++
		}
	}
	var out []string
	for _, l := range lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func TestTerminalBlock(t *testing.T) {
	var out syncBuf
	c := &clock{t: time.Unix(0, 0)}
	p := newPrinter(&out, true, c.now, 0) // no ticker: redraws on events only

	p.Handle(Event{Cell: musl, Kind: Started})
	p.Handle(Event{Cell: glibc, Kind: Started})
	p.Handle(Event{Cell: musl, Kind: Step, Step: "test"})
	c.advance(12 * time.Second)
	p.Handle(Event{Cell: glibc, Kind: Step, Step: "deps"})
	got := screen(t, out.String())
	want := []string{
		"⠋ go1.26.8/musl/amd64   test  12s",
		"⠋ go1.26.8/glibc/amd64  deps  12s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mid-run screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	p.Logf("--- FAIL: TestX (0.00s)")
	p.Handle(Event{Cell: glibc, Kind: Done, Status: StatusPassed, Pass: 41, Skip: 2, Elapsed: 38 * time.Second})
	p.Handle(Event{Cell: musl, Kind: Done, Status: StatusFailed, Pass: 3, Fail: 1, Elapsed: 12 * time.Second})
	p.Close()
	got = screen(t, out.String())
	want = []string{
		"--- FAIL: TestX (0.00s)",
		"✘ go1.26.8/musl/amd64   failed  3 pass 1 fail 0 skip  12s",
		"✔ go1.26.8/glibc/amd64  passed  41 pass 0 fail 2 skip  38s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("final screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	raw := out.String()
	for _, seq := range []string{"\x1b[2A", "\r\x1b[2K", "\x1b[J"} {
		if !strings.Contains(raw, seq) {
			t.Errorf("output lacks %q", seq)
		}
	}
	// A line after Close goes below the final block, which stays.
	p.Logf("done")
	if got := screen(t, out.String()); len(got) != 4 || got[3] != "done" || got[2] != want[2] {
		t.Errorf("after Close:\n%s", strings.Join(got, "\n"))
	}
}

func TestTickerTurnsTheSpinnerAndStopsOnClose(t *testing.T) {
	var out syncBuf
	p := newPrinter(&out, true, time.Now, time.Millisecond)
	p.Handle(Event{Cell: musl, Kind: Started})
	p.Handle(Event{Cell: musl, Kind: Step, Step: "test"})
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), spinner[2]) {
		if time.Now().After(deadline) {
			t.Fatalf("the spinner never turned without events:\n%q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	p.Close()
	select {
	case <-p.done:
	default:
		t.Fatal("refresh goroutine still running after Close")
	}
	n := len(out.String())
	time.Sleep(20 * time.Millisecond)
	if len(out.String()) != n {
		t.Fatal("output written after Close")
	}
	p.Close() // twice is harmless
}

func TestConcurrentHandle(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run(fmt.Sprintf("tty=%v", tty), func(t *testing.T) {
			var out syncBuf
			p := newPrinter(&out, tty, time.Now, time.Millisecond)
			var wg sync.WaitGroup
			const cells, steps = 8, 50
			for i := range cells {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := fmt.Sprintf("go1.26.8/musl/cell%d", i)
					p.Handle(Event{Cell: name, Kind: Started})
					for s := range steps {
						p.Handle(Event{Cell: name, Kind: Step, Step: fmt.Sprint("s", s)})
						p.Handle(Event{Cell: name, Kind: Step, Step: fmt.Sprint("s", s), Status: StepDone, Elapsed: time.Millisecond})
						if s%10 == 0 {
							p.Logf("log from %s", name)
						}
					}
					p.Handle(Event{Cell: name, Kind: Done, Status: StatusPassed, Pass: 1})
				}()
			}
			wg.Wait()
			p.Close()
			if !tty {
				lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
				if want := cells * (2 + 2*steps + steps/10); len(lines) != want {
					t.Fatalf("%d lines, want %d", len(lines), want)
				}
				ok := regexp.MustCompile(`^(\[parity\] go1\.26\.8/musl/cell\d: (started|s\d+ started|s\d+ done \(0\.0s\)|passed — 1 pass, 0 fail, 0 skip \(.+\))|log from go1\.26\.8/musl/cell\d)$`)
				for _, l := range lines {
					if !ok.MatchString(l) {
						t.Fatalf("torn or unexpected line %q", l)
					}
				}
				return
			}
			got := screen(t, out.String())
			if len(got) != cells+cells*(steps/10) {
				t.Fatalf("%d screen lines:\n%s", len(got), strings.Join(got, "\n"))
			}
			for _, l := range got[len(got)-cells:] {
				if !strings.HasPrefix(l, "✔ go1.26.8/musl/cell") || !strings.Contains(l, "passed  1 pass 0 fail 0 skip") {
					t.Fatalf("final block line %q", l)
				}
			}
		})
	}
}

func TestFmtDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "0.0s",
		-time.Second:                    "0.0s",
		4100 * time.Millisecond:         "4.1s",
		9960 * time.Millisecond:         "10s",
		38 * time.Second:                "38s",
		59600 * time.Millisecond:        "1m00s",
		65 * time.Second:                "1m05s",
		61*time.Minute + 31*time.Second: "1h02m",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Error("a pipe is a terminal")
	}
	f.Close()
	if IsTerminal(f) {
		t.Error("a closed file is a terminal")
	}
}

// TestHeartbeatInPlainOutput: a long step prints a line per running cell on
// every beat, with its step, how long it has run and the tests finished so
// far; finished cells stay quiet, and nothing is printed after Close.
func TestHeartbeatInPlainOutput(t *testing.T) {
	var out syncBuf
	c := &clock{t: time.Unix(0, 0)}
	p := newPrinter(&out, false, c.now, 0)
	beat := make(chan time.Time)
	p.beat(beat, func() {})
	p.Handle(Event{Cell: musl, Kind: Started})
	p.Handle(Event{Cell: glibc, Kind: Started})
	c.advance(5 * time.Second)
	p.Handle(Event{Cell: musl, Kind: Step, Step: "test"})
	p.Handle(Event{Cell: glibc, Kind: Done, Status: StatusError, Step: "deps"})
	c.advance(12 * time.Minute)
	p.Handle(Event{Cell: musl, Kind: Tests, Step: "test", Tests: 1234})
	// Unbuffered: the second send returns only once the first beat is printed.
	beat <- time.Time{}
	beat <- time.Time{}
	p.Close()
	want := "[parity] go1.26.8/musl/amd64: test running for 12m00s, 1234 tests finished (cell 12m05s)\n"
	// The second beat may or may not be printed before Close stops them.
	if got := out.String(); strings.Count(got, want) < 1 || strings.Count(got, "running for") > 2 || strings.Count(got, "running for") != strings.Count(got, want) {
		t.Fatalf("got:\n%s\nwant once or twice:\n%s", got, want)
	}
	before := out.String()
	p.heartbeat()
	if out.String() != before {
		t.Fatal("a heartbeat after Close printed")
	}
	if strings.Contains(out.String(), "1234 tests\n") {
		t.Fatal("a Tests event must not print a line of its own")
	}
}

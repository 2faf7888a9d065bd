package testjson

import (
	"bytes"
	"strings"
	"sync/atomic"
)

// MaxLine bounds the partial line a Stream holds while waiting for its
// newline. test2json never prints a longer event; a longer line is not one,
// and is kept (as text, capped like all output) in pieces of this size.
const MaxLine = 1 << 20

// Stream parses a `go test -json` stream as it arrives, so a cell printing
// gigabytes costs Parity only what the capped outputs hold: Write it the
// bytes in any chunks, then Finish. Write and Finish must be called from one
// goroutine; Finished may be called from any.
type Stream struct {
	p        *parser
	partial  []byte
	finished atomic.Int64
	stderr   string
}

// NewStream returns an empty Stream.
func NewStream() *Stream { return &Stream{p: newParser()} }

// Write parses every complete line of b and keeps the rest for the next
// call. It never fails.
func (s *Stream) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.partial = append(s.partial, b...)
			if len(s.partial) >= MaxLine {
				// Not an event: kept as text, the way a whole line would be.
				s.p.line(s.partial, true)
				s.partial = s.partial[:0]
			}
			break
		}
		line := b[:i]
		if len(s.partial) > 0 {
			line = append(s.partial, line...)
		}
		s.lineDone(bytes.TrimRight(line, "\r"))
		s.partial = s.partial[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (s *Stream) lineDone(line []byte) {
	tampered := s.p.tamperN
	s.p.line(line, true)
	// A result the parser refused as impossible (forged) is not counted.
	if finishes(line) && s.p.tamperN == tampered {
		s.finished.Add(1)
	}
}

// finishes reports whether line looks like a test's result event. It only
// feeds the live count of progress, never a result: a cheap look at the
// bytes (test2json escapes quotes inside Output, so these keys cannot come
// from a test's output) instead of decoding every line twice.
func finishes(line []byte) bool {
	if len(line) == 0 || line[0] != '{' || !bytes.Contains(line, []byte(`"Test":"`)) {
		return false
	}
	return bytes.Contains(line, []byte(`"Action":"pass"`)) || bytes.Contains(line, []byte(`"Action":"fail"`)) || bytes.Contains(line, []byte(`"Action":"skip"`))
}

// Finished is how many test results the stream has had so far.
func (s *Stream) Finished() int { return int(s.finished.Load()) }

// Stderr adds the test step's stderr, whose lines are never events (see
// ParseOutput); call it once, before Finish.
func (s *Stream) Stderr(stderr string) { s.stderr = stderr }

// Finish parses what is left (a last line without its newline means the
// printing process was killed) and returns the Run, as ParseOutput would
// for the same stdout and stderr.
func (s *Stream) Finish() Run {
	if len(s.partial) > 0 {
		s.p.line(bytes.TrimRight(s.partial, "\r"), false)
		s.partial = nil
	}
	s.p.block = nil
	for line := range strings.Lines(s.stderr) {
		s.p.text(strings.TrimRight(line, "\r\n"))
	}
	return s.p.finish()
}

// CapWriter keeps the head and tail of what is written, at most about limit
// bytes, cutting the middle with TruncationMarker the way test output is
// capped: a step's stdout or stderr cannot grow Parity's memory.
type CapWriter struct{ b *capBuf }

// NewCapWriter returns a CapWriter keeping about limit bytes.
func NewCapWriter(limit int) *CapWriter { return &CapWriter{b: newCapBuf(limit)} }

// Write never fails.
func (w *CapWriter) Write(p []byte) (int, error) {
	w.b.WriteString(string(p))
	return len(p), nil
}

// String returns what was kept and whether anything was cut.
func (w *CapWriter) String() (string, bool) { return w.b.String() }

// Len is how many bytes were written in all.
func (w *CapWriter) Len() int64 { return w.b.Len() }

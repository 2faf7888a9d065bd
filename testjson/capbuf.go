package testjson

import (
	"bytes"
	"fmt"
)

// MaxOutput caps the output kept per test, per package and for unattributed
// lines. A test that logs megabytes must not make the report unreadable: the
// head (where the first error usually is) and the tail (where panics and
// summaries are) are kept, the middle is replaced by TruncationMarker.
const MaxOutput = 64 << 10

// TruncationMarker is the line that replaces cut output. The count of bytes
// cut is appended in brackets.
const TruncationMarker = "[... parity: output truncated"

// capBuf keeps at most limit bytes of what is written: the first limit/2
// bytes and the last limit/2, cutting at line boundaries where it can.
type capBuf struct {
	limit   int
	head    []byte
	tail    []byte // once head is full; trimmed to limit/2 lazily
	written int64
}

func newCapBuf(limit int) *capBuf { return &capBuf{limit: limit} }

func (b *capBuf) WriteString(s string) {
	b.written += int64(len(s))
	half := b.limit / 2
	if room := half - len(b.head); room > 0 && len(b.tail) == 0 {
		n := min(room, len(s))
		b.head = append(b.head, s[:n]...)
		s = s[n:]
	}
	b.tail = append(b.tail, s...)
	// Trim only when tail is twice its budget so appends stay amortised O(1).
	if len(b.tail) > 2*half {
		b.tail = append(b.tail[:0:0], b.tail[len(b.tail)-half:]...)
	}
}

func (b *capBuf) Len() int64 { return b.written }

// String returns the kept output and whether anything was cut.
func (b *capBuf) String() (string, bool) {
	if b == nil {
		return "", false
	}
	if int64(len(b.head)+len(b.tail)) <= int64(b.limit) && int64(len(b.head)+len(b.tail)) == b.written {
		return string(b.head) + string(b.tail), false
	}
	half := b.limit / 2
	head, tail := b.head, b.tail
	if len(tail) > half {
		tail = tail[len(tail)-half:]
	}
	// Cut at line boundaries so no line is shown half.
	if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
		head = head[:i+1]
	}
	if i := bytes.IndexByte(tail, '\n'); i >= 0 && i+1 < len(tail) {
		tail = tail[i+1:]
	}
	cut := b.written - int64(len(head)) - int64(len(tail))
	var out bytes.Buffer
	out.Write(head)
	if len(head) > 0 && head[len(head)-1] != '\n' {
		out.WriteByte('\n')
	}
	fmt.Fprintf(&out, "%s: %d bytes cut ...]\n", TruncationMarker, cut)
	out.Write(tail)
	return out.String(), true
}

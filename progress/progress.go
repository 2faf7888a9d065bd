// Package progress shows a matrix run while it happens: on a terminal, a
// block with one live line per cell, redrawn in place; anywhere else, plain
// append-only lines that read well in CI logs.
package progress

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Kind is what happened to a cell.
type Kind int

const (
	// Started: the cell began.
	Started Kind = iota + 1
	// Step: a step of the cell began (Status "" or StepRunning) or ended
	// (any other Status, e.g. StepDone or StepFailed, with its Elapsed).
	Step
	// Done: the cell finished; Status is its outcome (StatusPassed, …),
	// Pass/Fail/Skip its test counts and Elapsed its whole duration.
	Done
	// Tests: the running step has finished Tests tests so far.
	Tests
)

func (k Kind) String() string {
	switch k {
	case Started:
		return "started"
	case Step:
		return "step"
	case Done:
		return "done"
	case Tests:
		return "tests"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Statuses the runner sends. Others are shown as they are.
const (
	StepRunning = "running"
	StepDone    = "done"
	StepFailed  = "failed"

	StatusPassed  = "passed"
	StatusFailed  = "failed"
	StatusError   = "error"
	StatusSkipped = "skipped"
)

// Event is one report from the runner.
type Event struct {
	Cell             string // "go1.26.8/musl/amd64"
	Kind             Kind
	Step             string // "deps", "build", "test"
	Status           string
	Pass, Fail, Skip int
	// Elapsed is the step's duration on a finished Step, the cell's on Done.
	// Zero means unknown: the Printer then uses the time since Started.
	Elapsed time.Duration
	Tests   int // Tests: finished so far
}

// Heartbeat is how often plain output says what each running cell is
// doing: a long quiet step must not look like a hung run in a CI log.
const Heartbeat = 30 * time.Second

// IsTerminal reports whether f is a character device, i.e. most likely a
// terminal. It needs no terminal library; the only false positive is
// /dev/null, where the redrawn block is discarded anyway. Callers may still
// choose plain output for TERM=dumb or CI.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Printer renders events. Its methods are safe for concurrent use.
type Printer struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	now    func() time.Time
	cells  []*cell // in order of first appearance
	byName map[string]*cell
	drawn  int // lines of the block on screen, to move back over
	frame  int
	closed bool

	stop chan struct{}
	done chan struct{}
}

type cell struct {
	name      string
	start     time.Time
	step      string
	stepStart time.Time
	tests     int // finished in the running step, as last reported
	done      bool
	status    string
	detail    string
	elapsed   time.Duration
}

// refresh is how often the terminal block is redrawn between events, so
// the spinner turns and elapsed times count up while a step is quiet.
const refresh = 100 * time.Millisecond

// New returns a Printer writing to w: the redrawn block if tty, plain lines
// otherwise. Call Close when the run ends.
func New(w io.Writer, tty bool) *Printer {
	p := newPrinter(w, tty, time.Now, refresh)
	if !tty {
		t := time.NewTicker(Heartbeat)
		p.beat(t.C, t.Stop)
	}
	return p
}

// beat prints a heartbeat line per running cell on every tick of c, until
// Close. Plain output only: the terminal block shows the same, live.
func (p *Printer) beat(c <-chan time.Time, stop func()) {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		defer stop()
		for {
			select {
			case <-p.stop:
				return
			case <-c:
				p.heartbeat()
			}
		}
	}()
}

func (p *Printer) heartbeat() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := p.now()
	for _, c := range p.cells {
		if c.done {
			continue
		}
		line := fmt.Sprintf("[parity] %s: %s running for %s", c.name, c.step, fmtDur(now.Sub(c.stepStart)))
		if c.tests > 0 || c.step == "test" {
			line += fmt.Sprintf(", %d tests finished", c.tests)
		}
		fmt.Fprintf(p.w, "%s (cell %s)\n", line, fmtDur(now.Sub(c.start)))
	}
}

func newPrinter(w io.Writer, tty bool, now func() time.Time, every time.Duration) *Printer {
	p := &Printer{w: w, tty: tty, now: now, byName: map[string]*cell{}}
	if tty && every > 0 {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.tick(every)
	}
	return p
}

func (p *Printer) tick(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	defer close(p.done)
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.running() {
				p.frame++
				p.draw(nil)
			}
			p.mu.Unlock()
		}
	}
}

// Handle records e and shows it. Events after Close are dropped.
func (p *Printer) Handle(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	c := p.byName[e.Cell]
	if c == nil {
		c = &cell{name: e.Cell, start: p.now(), step: "starting", stepStart: p.now()}
		p.byName[e.Cell] = c
		p.cells = append(p.cells, c)
	}
	var line string
	switch e.Kind {
	case Started:
		c.start, c.step, c.done, c.stepStart = p.now(), "starting", false, p.now()
		line = "started"
	case Tests:
		// Shown by the heartbeat and the block, not a line of its own.
		c.tests = e.Tests
		if p.tty {
			p.draw(nil)
		}
		return
	case Step:
		st := e.Status
		if st == "" || st == StepRunning {
			c.step, c.stepStart, c.tests = e.Step, p.now(), 0
			line = e.Step + " started"
		} else {
			line = e.Step + " " + st + durParen(e.Elapsed)
		}
	case Done:
		c.done, c.status = true, e.Status
		if c.status == "" {
			c.status = StatusPassed
		}
		c.elapsed = e.Elapsed
		if c.elapsed == 0 {
			c.elapsed = p.now().Sub(c.start)
		}
		if e.Pass+e.Fail+e.Skip > 0 || c.status == StatusPassed {
			c.detail = fmt.Sprintf("%d pass %d fail %d skip", e.Pass, e.Fail, e.Skip)
			line = fmt.Sprintf("%s — %d pass, %d fail, %d skip (%s)", c.status, e.Pass, e.Fail, e.Skip, fmtDur(c.elapsed))
		} else if e.Step != "" {
			c.detail = "in " + e.Step
			line = fmt.Sprintf("%s in %s (%s)", c.status, e.Step, fmtDur(c.elapsed))
		} else {
			line = fmt.Sprintf("%s (%s)", c.status, fmtDur(c.elapsed))
		}
	default:
		return
	}
	if p.tty {
		p.draw(nil)
		return
	}
	fmt.Fprintf(p.w, "[parity] %s: %s\n", e.Cell, line)
}

// Logf prints a line of its own (a failure's output, a warning) without
// tearing the terminal block: the block is redrawn below it.
func (p *Printer) Logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n") + "\n"
	if !p.tty || p.closed {
		// After Close the block is final: the line goes below it.
		io.WriteString(p.w, msg)
		return
	}
	var b bytes.Buffer
	if p.drawn > 0 {
		// Up over the block and clear it; the log takes its place.
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", p.drawn)
		p.drawn = 0
	}
	b.WriteString(msg)
	p.draw(&b)
}

// Close stops the refresh and leaves the final state on screen. It waits for
// the refresh goroutine, so nothing is written after it returns.
func (p *Printer) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		<-p.done
	}
	if p.tty {
		p.mu.Lock()
		p.draw(nil)
		p.mu.Unlock()
	}
}

func (p *Printer) running() bool {
	for _, c := range p.cells {
		if !c.done {
			return true
		}
	}
	return false
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// draw redraws the block in one write, after whatever b already holds.
// Each line is cleared before it is written, and the block only grows, so no
// stale text survives. The cursor is left below the block.
func (p *Printer) draw(b *bytes.Buffer) {
	if b == nil {
		b = &bytes.Buffer{}
	}
	if p.drawn > 0 {
		fmt.Fprintf(b, "\x1b[%dA", p.drawn)
	}
	wName, wCol := 0, 0
	for _, c := range p.cells {
		wName = max(wName, len(c.name))
		wCol = max(wCol, len(c.column()))
	}
	now := p.now()
	for _, c := range p.cells {
		sym := spinner[p.frame%len(spinner)]
		el := now.Sub(c.start)
		if c.done {
			sym, el = symbol(c.status), c.elapsed
		}
		line := fmt.Sprintf("%s %-*s  %-*s  ", sym, wName, c.name, wCol, c.column())
		if c.done && c.detail != "" {
			line += c.detail + "  "
		}
		line += fmtDur(el)
		fmt.Fprintf(b, "\r\x1b[2K%s\n", line)
	}
	p.drawn = len(p.cells)
	p.w.Write(b.Bytes())
}

// column is the second column: the running step (with its finished
// tests, once there are some), or the outcome.
func (c *cell) column() string {
	if c.done {
		return c.status
	}
	if c.tests > 0 {
		return fmt.Sprintf("%s (%d tests)", c.step, c.tests)
	}
	return c.step
}

func symbol(status string) string {
	switch status {
	case StatusPassed:
		return "✔"
	case StatusSkipped:
		return "-"
	}
	return "✘"
}

func durParen(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " (" + fmtDur(d) + ")"
}

// fmtDur keeps durations short and stable in width: tenths under ten
// seconds, whole seconds under a minute, then minutes and seconds.
func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < 10*time.Second-50*time.Millisecond:
		return fmt.Sprintf("%.1fs", d.Round(100*time.Millisecond).Seconds())
	case d < time.Minute-500*time.Millisecond:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

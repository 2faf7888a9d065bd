// Package atomic64 counts with a 64-bit atomic on a field that follows a
// 32-bit one: at offset 4 on 386 and arm, whose int64 is 4-byte aligned.
package atomic64

import "sync/atomic"

// Counter's n sits at offset 8 on 64-bit platforms and 4 on 32-bit ones.
type Counter struct {
	on bool
	n  int64
}

// Add adds d; sync/atomic panics on 32-bit platforms, where &c.n is not
// 8-byte aligned.
func (c *Counter) Add(d int64) int64 {
	c.on = true
	return atomic.AddInt64(&c.n, d)
}

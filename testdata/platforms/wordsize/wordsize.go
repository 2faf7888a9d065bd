// Package wordsize multiplies in int, whose size is the platform's word:
// 64 bits on amd64 and s390x, 32 on 386 and arm.
package wordsize

// Millis converts seconds to milliseconds in int: past 2147483 seconds
// (about 24.8 days) the result wraps where int is 32 bits.
//
//go:noinline
func Millis(seconds int) int {
	return seconds * 1000
}

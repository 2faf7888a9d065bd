// Package byteorder reads a uint32's bytes straight from memory, the way
// code that assumes a little-endian machine does.
package byteorder

import "unsafe"

// Bytes returns v's four bytes in memory order: least significant first
// on little-endian machines, most significant first on big-endian ones.
func Bytes(v uint32) [4]byte {
	return *(*[4]byte)(unsafe.Pointer(&v))
}

//go:build cgo

// Package intermittent plants a musl-only failure that happens on three
// runs in four.
package intermittent

/*
#include <stdio.h>
static int is_glibc(void) {
#ifdef __GLIBC__
	return 1;
#else
	return 0;
#endif
}
*/
import "C"

// onGlibc reports whether the binary links glibc (by its headers).
func onGlibc() bool { return C.is_glibc() == 1 }

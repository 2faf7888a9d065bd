//go:build cgo

// Package skipped plants a test that skips itself on musl and passes on
// glibc: a platform's own skip, not a failure.
package skipped

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

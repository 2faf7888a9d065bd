//go:build cgo

// Package slowmusl plants a test that outlasts any --cell-timeout on musl
// and returns at once on glibc.
package slowmusl

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

func onGlibc() bool { return C.is_glibc() == 1 }

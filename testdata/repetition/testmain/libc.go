//go:build cgo

// Package testmain plants a package-level divergence: its TestMain exits
// non-zero where the binary links musl, before any test runs.
package testmain

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

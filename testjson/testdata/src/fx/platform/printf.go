package platform

/*
#include <stdio.h>
#include <stdlib.h>

// glibc prints "(nil)" for %p of NULL, musl prints "0".
static char *format_null(void) {
	char *buf = malloc(32);
	if (buf != NULL) snprintf(buf, 32, "%p", (void *)0);
	return buf;
}
*/
import "C"

import "unsafe"

// FormatNullPointer returns the C library's printf("%p", NULL).
func FormatNullPointer() string {
	p := C.format_null()
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p)
}

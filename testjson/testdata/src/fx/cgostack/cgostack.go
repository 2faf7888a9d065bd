// Package cgostack runs C code that needs a large stack on a thread the C
// library creates with its default stack size: 8 MiB under glibc, 128 KiB
// under musl, where it overflows.
package cgostack

/*
#include <pthread.h>
#include <string.h>

static void *deep(void *arg) {
	volatile char buf[1 << 20];
	memset((char *)buf, 1, sizeof buf);
	*(int *)arg = buf[12345];
	return NULL;
}

static int deep_in_thread(void) {
	pthread_t t;
	int result = 0;
	if (pthread_create(&t, NULL, deep, &result) != 0) return -1;
	pthread_join(t, NULL);
	return result;
}
*/
import "C"

// Deep uses 1 MiB of C stack on a fresh C thread.
func Deep() int { return int(C.deep_in_thread()) }

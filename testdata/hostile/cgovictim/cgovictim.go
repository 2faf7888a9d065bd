// Package cgovictim is victim with cgo, so it builds slowly: earlyend
// forges its package result while it is still building.
package cgovictim

/*
static int answer(void) { return 42; }
*/
import "C"

// Answer calls into C.
func Answer() int { return int(C.answer()) }

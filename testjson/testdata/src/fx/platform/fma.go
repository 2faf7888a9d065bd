// Package platform behaves differently across the matrix's axes: libc (cgo
// printf), arch (fused multiply-add) and image contents (bash).
package platform

// MulAdd returns a*b+c. arm64 fuses it (FMADDD, one rounding); amd64 at
// GOAMD64=v1 rounds a*b first. noinline keeps it from constant folding.
//
//go:noinline
func MulAdd(a, b, c float64) float64 { return a*b + c }

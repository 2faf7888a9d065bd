//go:build !windows

package winbreak

const sep = "/"

package sv

import "strings"

func Count(s string) int {
	n := 0
	for range strings.Lines(s) {
		n++
	}
	return n
}

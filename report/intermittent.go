package report

import (
	"fmt"
	"strings"
)

// CountsText says how often a test failed per cell, highest rate first:
// "fails 2 of 3 on go1.26.8/musl/amd64, 0 of 6 on go1.26.8/glibc/amd64".
func CountsText(counts []RunCounts) string {
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%d of %d on %s", c.Fail, c.Runs, c.Cell)
	}
	return "fails " + strings.Join(parts, ", ")
}

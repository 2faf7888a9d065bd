package matrix

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckGoVersion accepts release versions such as 1.26 or 1.27.1 (what
// --go takes); the error quotes v and says what a version looks like.
func CheckGoVersion(v string) error { return checkGoVersion(v) }

// checkGoVersion accepts release versions such as 1.26 or 1.27.1: the form of
// golang image tags and go.mod go lines.
func checkGoVersion(v string) error {
	if _, ok := parseGo(v); !ok {
		return fmt.Errorf("bad Go version %q (want e.g. 1.27.1)", v)
	}
	return nil
}

func parseGo(v string) ([3]int, bool) {
	var n [3]int
	parts := strings.Split(strings.TrimPrefix(v, "go"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return n, false
	}
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || (p != "0" && strings.HasPrefix(p, "0")) {
			return n, false
		}
		n[i] = x
	}
	return n, n[0] == 1
}

// CompareGo compares two Go release versions like cmp.Compare; a version that
// does not parse sorts first.
func CompareGo(a, b string) int {
	x, okx := parseGo(a)
	y, oky := parseGo(b)
	switch {
	case !okx || !oky:
		return boolCmp(okx, oky)
	}
	for i := range x {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

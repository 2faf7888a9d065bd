// Package upperkey makes the case-insensitive keys of a name index: a
// name's key is its upper case, as strings.ToUpper gives it, from the
// Unicode tables of the Go release that builds the program.
package upperkey

import "strings"

// Key is the index key of name.
func Key(name string) string { return strings.ToUpper(name) }

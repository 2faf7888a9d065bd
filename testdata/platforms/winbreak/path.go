// Package winbreak joins paths with a separator chosen per OS by build
// constraints; the windows file has a slip that only a windows build sees.
package winbreak

// Join joins a and b with the platform's separator.
func Join(a, b string) string { return a + sep + b }

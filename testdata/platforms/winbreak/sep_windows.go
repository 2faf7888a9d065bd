//go:build windows

package winbreak

// The planted slip: the constant is misnamed, so sep is undefined on
// windows (path.go uses it) and the package does not build there.
const separator = `\`

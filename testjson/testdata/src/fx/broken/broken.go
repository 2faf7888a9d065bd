// Package broken does not compile its tests.
package broken

func Answer() int { return 42 }

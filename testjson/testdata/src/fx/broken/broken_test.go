package broken

import "testing"

func TestAnswer(t *testing.T) {
	var s string = Answer() // type error: int is not a string
	_ = s
}

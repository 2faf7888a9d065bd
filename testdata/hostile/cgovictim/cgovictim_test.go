package cgovictim

import "testing"

func TestGood(t *testing.T) {
	if Answer() != 42 {
		t.Fatal("cgo is broken")
	}
}

func TestReal(t *testing.T) {
	t.Fatal("planted failure: fails in every cell")
}

package a

import "testing"

func TestA(t *testing.T) {}

func TestAFails(t *testing.T) { t.Fatal("a real failure in a") }

//go:build cgo

package slowmusl

import (
	"testing"
	"time"
)

func TestQuick(t *testing.T) {}

func TestSlowOnMusl(t *testing.T) {
	if !onGlibc() {
		time.Sleep(10 * time.Minute)
	}
}

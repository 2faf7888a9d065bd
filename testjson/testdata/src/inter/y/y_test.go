package y

import (
	"testing"
	"time"
)

func TestOne(t *testing.T) { time.Sleep(300 * time.Millisecond) }
func TestTwo(t *testing.T) { time.Sleep(300 * time.Millisecond) }

package calibration

import (
	"context"
	"os"
	"strconv"
	"testing"
)

func TestQuickLook(t *testing.T) {
	d, _ := strconv.Atoi(os.Getenv("CALIB_DIVISOR"))
	if d == 0 {
		t.Skip("CALIB_DIVISOR unset")
	}
	rows, err := Suite(context.Background(), Scale{Seed: 1, Divisor: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + Table(rows))
}

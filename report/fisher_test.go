package report

import (
	"math"
	"testing"
)

// Known values: R's fisher.test(matrix(c(a, b, c, d), 2), alternative =
// "greater")$p.value for failures/passes of A and B, and exact fractions.
func TestFisherOneSided(t *testing.T) {
	for _, c := range []struct {
		failA, runsA, failB, runsB int
		want                       float64
	}{
		{2, 3, 0, 3, 4.0 / 20},         // C(2,2)C(4,1)/C(6,3)
		{2, 3, 0, 6, 7.0 / 84},         // C(2,2)C(7,1)/C(9,3)
		{4, 6, 0, 6, 15.0 / 495},       // C(4,4)C(8,2)/C(12,6)... see below
		{3, 3, 0, 3, 1.0 / 20},         // all of A fails, none of B
		{0, 3, 0, 3, 1},                // nothing failed
		{1, 3, 2, 3, 0.95},             // A fails less: no evidence
		{7, 10, 0, 10, 0.001547987616}, // R: 0.001548
		{3, 10, 1, 10, 0.2910216718},   // R: 0.291
		{10, 10, 10, 10, 1},            // everything fails
		{1, 1, 0, 1, 0.5},              // one run each: never decided
		{5, 5, 0, 5, 1.0 / 252},        // C(10,5) = 252
		{2, 3, 1, 3, 0.5},              // C(3,2)C(3,1)/20 + C(3,3)C(3,0)/20 = 9/20+1/20
	} {
		got := FisherOneSided(c.failA, c.runsA, c.failB, c.runsB)
		if math.Abs(got-c.want) > 1e-9 {
			t.Errorf("FisherOneSided(%d/%d vs %d/%d) = %.10f, want %.10f", c.failA, c.runsA, c.failB, c.runsB, got, c.want)
		}
	}
}

package report

import "math"

// Alpha is the level at which a difference in failure rates between cells
// is a divergence: the one-sided Fisher exact test's p-value must be below
// it.
const Alpha = 0.05

// FisherOneSided is the one-sided Fisher exact test's p-value that group A
// (failA failures in runsA runs) fails more often than group B (failB of
// runsB): the probability, with the margins fixed, of at least failA of all
// the failures falling in A when both fail at the same rate (the
// hypergeometric upper tail). 1 when A fails no more than chance allows.
func FisherOneSided(failA, runsA, failB, runsB int) float64 {
	if failA < 0 || failB < 0 || failA > runsA || failB > runsB {
		return 1
	}
	n := runsA + runsB
	k := failA + failB // all failures
	p := 0.0
	for x := failA; x <= min(k, runsA); x++ {
		p += hypergeom(x, runsA, k, n)
	}
	return min(p, 1)
}

// hypergeom is P(X = x) for X the failures among a draws of size a from n
// runs of which k failed: C(k, x) C(n-k, a-x) / C(n, a).
func hypergeom(x, a, k, n int) float64 {
	if x < 0 || x > k || a-x < 0 || a-x > n-k {
		return 0
	}
	return math.Exp(lchoose(k, x) + lchoose(n-k, a-x) - lchoose(n, a))
}

// lchoose is log C(n, r).
func lchoose(n, r int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(r + 1))
	c, _ := math.Lgamma(float64(n - r + 1))
	return a - b - c
}

package report

import "math"

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

// Stratum is one 2×2 table of a stratified test: runs of arm A and arm B
// made under the same conditions (one cell).
type Stratum struct {
	FailA, RunsA, FailB, RunsB int
}

// StratifiedOneSided is the exact conditional test that arm A fails more
// often than arm B within strata that may fail at different rates (Zelen's
// exact test for a common odds ratio of 1; the exact form of
// Cochran–Mantel–Haenszel): with each stratum's margins fixed, the
// probability that A's failures summed over the strata are at least those
// seen. One stratum is FisherOneSided.
func StratifiedOneSided(strata []Stratum) float64 {
	// dist[x] = P(sum of A's failures = x), convolved stratum by stratum.
	dist := []float64{1}
	observed := 0
	for _, s := range strata {
		if s.FailA < 0 || s.FailB < 0 || s.FailA > s.RunsA || s.FailB > s.RunsB {
			return 1
		}
		n, k := s.RunsA+s.RunsB, s.FailA+s.FailB
		observed += s.FailA
		lo, hi := max(0, k-s.RunsB), min(k, s.RunsA)
		next := make([]float64, len(dist)+hi)
		for x := lo; x <= hi; x++ {
			px := hypergeom(x, s.RunsA, k, n)
			if px == 0 {
				continue
			}
			for y, py := range dist {
				next[x+y] += px * py
			}
		}
		dist = next
	}
	p := 0.0
	for x := observed; x < len(dist); x++ {
		p += dist[x]
	}
	return min(p, 1)
}

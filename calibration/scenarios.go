package calibration

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
)

// Row is one line of the calibration table: a rate measured over trials
// and its target.
type Row struct {
	Case    string  // the scenario
	Measure string  // what is counted
	Target  string  // "≤ 1%", "≥ 99%"
	Bound   float64 // the target as a fraction
	AtMost  bool    // the target bounds the rate from above
	Hits    int     // trials where it happened
	Trials  int     // trials it was counted over
	Note    string  // costs and conditions
}

// Rate is Hits/Trials.
func (r Row) Rate() float64 { return float64(r.Hits) / float64(max(r.Trials, 1)) }

// Met reports whether the measured rate meets the target.
func (r Row) Met() bool {
	if r.AtMost {
		return r.Rate() <= r.Bound
	}
	return r.Rate() >= r.Bound
}

// always, never and flaky make a test's failure chance.
func always(Run) float64 { return 1 }
func never(Run) float64  { return 0 }
func rate(q float64) func(Run) float64 {
	return func(Run) float64 { return q }
}

// passing siblings give the package something to run with, and a
// bisection something to search.
func siblings(names ...string) []Test {
	var out []Test
	for _, n := range names {
		out = append(out, Test{Name: n, Fails: never})
	}
	return out
}

// musl is the libc axis's failing side in the scenarios.
func onMusl(q float64) func(Run) float64 {
	return func(r Run) float64 {
		if r.Cell.Libc == matrix.Musl {
			return q
		}
		return 0
	}
}

// Scale divides every scenario's trials (1 in CI; more for a quick look).
type Scale struct {
	Seed    uint64
	Divisor int
}

// trials runs n trials of one world and setup in parallel, and calls
// observe with each trial's report (in any order: observe adds up).
func trials(ctx context.Context, sc Scale, n int, setup Setup, tests []Test, observe func(trial int, r report.Report)) error {
	p, err := setup.plan()
	if err != nil {
		return err
	}
	n = max(1, n/max(sc.Divisor, 1))
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				r := together(ctx, p, World{Tests: tests, Seed: sc.Seed, Trial: i})
				mu.Lock()
				observe(i, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Suite runs every scenario and returns the table, in order.
func Suite(ctx context.Context, sc Scale) ([]Row, error) {
	var rows []Row
	for _, f := range []func(context.Context, Scale) ([]Row, error){
		flakyAlike, fiftyFlaky, deterministic, intermittentMusl, orderDependent, orderWithoutCulprit,
		experimentByChance, experimentTrueCause, apartAndTogether,
	} {
		rs, err := f(ctx, sc)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
	}
	return rows, nil
}

// flakyAlike: one test failing at the same rate q in every cell, four
// passing siblings; counted over the trials where it failed somewhere in
// the first run (the others are never re-run).
func flakyAlike(ctx context.Context, sc Scale) ([]Row, error) {
	var out []Row
	for _, q := range []float64{0.05, 0.2, 0.5, 0.8} {
		tests := append(siblings("TestA", "TestB"), Test{Name: "TestFlaky", Fails: rate(q)})
		tests = append(tests, siblings("TestC", "TestD")...)
		var n, div, order, confirmed, culprit, red int
		var runs float64
		name := fmt.Sprintf("flaky alike, q = %g", q)
		err := trials(ctx, sc, 3000, Defaults, tests, func(_ int, r report.Report) {
			row, ok := rowOf(r, "TestFlaky")
			if !ok || !screened(row) {
				return
			}
			n++
			div += boolInt(row.Divergent)
			order += boolInt(row.OrderDependent)
			confirmed += boolInt(row.Explanation != nil && row.Explanation.Confirmed)
			if _, ok := culpritNamed(row); ok {
				culprit++
			}
			red += boolInt(!r.Conclusion.OK)
			runs += runsPerCell(r)
		})
		if err != nil {
			return nil, err
		}
		note := fmt.Sprintf("re-runs per cell: %.1f on average", runs/float64(max(n, 1)))
		out = append(out,
			Row{Case: name, Measure: "labelled divergent", Target: "≤ 1%", Bound: 0.01, AtMost: true, Hits: div, Trials: n, Note: note},
			Row{Case: name, Measure: "labelled order-dependent", Target: "≤ 1%", Bound: 0.01, AtMost: true, Hits: order, Trials: n},
			Row{Case: name, Measure: "a cause confirmed", Target: "≤ 1%", Bound: 0.01, AtMost: true, Hits: confirmed, Trials: n},
			Row{Case: name, Measure: "a culprit named", Target: "≤ 1%", Bound: 0.01, AtMost: true, Hits: culprit, Trials: n},
		)
		if q == 0.2 {
			out = append(out, Row{Case: name, Measure: "verdict red (no --fail-on-flaky)", Target: "≤ 1%", Bound: 0.01, AtMost: true, Hits: red, Trials: n})
		}
	}
	return out, nil
}

// fiftyFlaky: a package of 50 tests flaky alike (q = 0.05, 0.2, 0.5, 0.8 in
// turn): any false word in the whole report.
func fiftyFlaky(ctx context.Context, sc Scale) ([]Row, error) {
	qs := []float64{0.05, 0.2, 0.5, 0.8}
	var tests []Test
	for i := range 50 {
		tests = append(tests, Test{Name: fmt.Sprintf("TestFlaky%02d", i), Fails: rate(qs[i%len(qs)])})
	}
	var n, div, order, confirmed int
	err := trials(ctx, sc, 200, Defaults, tests, func(_ int, r report.Report) {
		n++
		div += boolInt(slices.ContainsFunc(r.Tests, func(t report.TestRow) bool { return t.Divergent }))
		order += boolInt(slices.ContainsFunc(r.Tests, func(t report.TestRow) bool { return t.OrderDependent }))
		confirmed += boolInt(slices.ContainsFunc(r.Tests, func(t report.TestRow) bool { return t.Explanation != nil && t.Explanation.Confirmed }))
	})
	if err != nil {
		return nil, err
	}
	name := "50 rows flaky alike in one report"
	return []Row{
		{Case: name, Measure: "any row labelled divergent", Target: "≤ 5%", Bound: 0.05, AtMost: true, Hits: div, Trials: n},
		{Case: name, Measure: "any row labelled order-dependent", Target: "≤ 5%", Bound: 0.05, AtMost: true, Hits: order, Trials: n},
		{Case: name, Measure: "any cause confirmed", Target: "≤ 5%", Bound: 0.05, AtMost: true, Hits: confirmed, Trials: n},
	}, nil
}

// deterministic: fails every run on musl, never on glibc.
func deterministic(ctx context.Context, sc Scale) ([]Row, error) {
	tests := append(siblings("TestA"), Test{Name: "TestMusl", Fails: onMusl(1)})
	var n, found, within, most int
	err := trials(ctx, sc, 1000, Defaults, tests, func(_ int, r report.Report) {
		row, _ := rowOf(r, "TestMusl")
		n++
		ok := row.Divergent && slices.ContainsFunc(r.Divergences, func(d report.Divergence) bool {
			return d.Test == "TestMusl" && slices.Equal(d.Axes, []string{"libc"})
		})
		found += boolInt(ok)
		k := aloneRunsPerCell(row)
		most = max(most, k)
		within += boolInt(ok && k <= Defaults.Reruns+4)
	})
	if err != nil {
		return nil, err
	}
	name := "deterministic divergence on libc (musl fails every run)"
	return []Row{
		{Case: name, Measure: "found, axis libc, within --reruns 2 + 4 runs per cell", Target: "≥ 99%", Bound: 0.99, Hits: within, Trials: n,
			Note: fmt.Sprintf("found %d of %d; at most %d alone runs per cell", found, n, most)},
	}, nil
}

// intermittentMusl: fails 70% of runs on musl, never on glibc; counted
// over the trials where it failed in the first run.
func intermittentMusl(ctx context.Context, sc Scale) ([]Row, error) {
	tests := append(siblings("TestA"), Test{Name: "TestOftenOnMusl", Fails: onMusl(0.7)})
	var n, found, steady int
	var runs float64
	err := trials(ctx, sc, 1000, Defaults, tests, func(_ int, r report.Report) {
		row, _ := rowOf(r, "TestOftenOnMusl")
		if !screened(row) {
			return
		}
		n++
		i := slices.IndexFunc(r.Divergences, func(d report.Divergence) bool {
			return d.Test == "TestOftenOnMusl" && slices.Contains(d.Axes, "libc")
		})
		ok := row.Divergent && i >= 0
		found += boolInt(ok)
		// "Intermittent" is descriptive: a 70% failure that failed every
		// run up to the decision is told as tested, not intermittent.
		steady += boolInt(ok && !r.Divergences[i].Intermittent)
		runs += float64(aloneRunsPerCell(row))
	})
	if err != nil {
		return nil, err
	}
	return []Row{{Case: "intermittent divergence, 70% vs 0% on libc", Measure: "found, axis libc, within --reruns-max", Target: "≥ 95%", Bound: 0.95, Hits: found, Trials: n,
		Note: fmt.Sprintf("alone runs per cell: %.1f on average; failed every run up to the decision, so not told intermittent: %s", runs/float64(max(n, 1)), percent(float64(steady)/float64(max(found, 1))))}}, nil
}

// orderDependent: TestVictim fails whenever TestCulprit ran before it in
// the same process, never otherwise; three innocent siblings around them.
func orderDependent(ctx context.Context, sc Scale) ([]Row, error) {
	tests := append(siblings("TestA"), Test{Name: "TestCulprit", Fails: never})
	tests = append(tests, siblings("TestB")...)
	tests = append(tests, Test{Name: "TestVictim", Fails: func(r Run) float64 {
		if slices.Contains(r.Before, "TestCulprit") {
			return 1
		}
		return 0
	}})
	tests = append(tests, siblings("TestC")...)
	var n, found, right int
	err := trials(ctx, sc, 500, Defaults, tests, func(_ int, r report.Report) {
		row, _ := rowOf(r, "TestVictim")
		n++
		found += boolInt(row.OrderDependent && row.Failed && !row.Divergent)
		if c, ok := culpritNamed(row); ok && c == "TestCulprit" {
			right++
		}
	})
	if err != nil {
		return nil, err
	}
	name := "order-dependent (fails after its culprit every time, alone never)"
	return []Row{
		{Case: name, Measure: "found order-dependent", Target: "≥ 99%", Bound: 0.99, Hits: found, Trials: n},
		{Case: name, Measure: "culprit named right", Target: "≥ 95%", Bound: 0.95, Hits: right, Trials: n},
	}, nil
}

// orderWithoutCulprit: fails 90% of its runs after three siblings or
// more, 30% alone or after one or two: order-dependent, but no single
// sibling makes it fail more than alone does. Bisection's probes are then
// as flaky as the test, and must not name a culprit.
func orderWithoutCulprit(ctx context.Context, sc Scale) ([]Row, error) {
	tests := append(siblings("TestA", "TestB", "TestC", "TestD"), Test{Name: "TestCrowded", Fails: func(r Run) float64 {
		if len(r.Before) >= 3 {
			return 0.9
		}
		return 0.3
	}})
	var n, named int
	err := trials(ctx, sc, 1000, Defaults, tests, func(_ int, r report.Report) {
		row, _ := rowOf(r, "TestCrowded")
		if !row.OrderDependent {
			return
		}
		n++
		if _, ok := culpritNamed(row); ok {
			named++
		}
	})
	if err != nil {
		return nil, err
	}
	return []Row{{Case: "order-dependent, no single culprit (90% after 3+ siblings, 30% alone or after 1-2)", Measure: "a culprit named (of the rows found order-dependent)", Target: "≤ 1%", Bound: 0.01, AtMost: true, Hits: named, Trials: n}}, nil
}

// experimentByChance: fails half its runs on musl, never on glibc, and no
// experiment changes that; counted over the trials where it was found
// divergent (the only ones explained).
func experimentByChance(ctx context.Context, sc Scale) ([]Row, error) {
	tests := append(siblings("TestA"), Test{Name: "TestHalfOnMusl", Fails: onMusl(0.5)})
	var n, confirmed int
	var arm float64
	err := trials(ctx, sc, 1000, Defaults, tests, func(_ int, r report.Report) {
		row, _ := rowOf(r, "TestHalfOnMusl")
		if row.Explanation == nil {
			return
		}
		n++
		confirmed += boolInt(row.Explanation.Confirmed)
		arm += float64(row.Explanation.RunsPerArm)
	})
	if err != nil {
		return nil, err
	}
	return []Row{{Case: "experiments with no effect, control failing 50%", Measure: "a cause confirmed (of the rows explained)", Target: "≤ 1%", Bound: 0.01, AtMost: true, Hits: confirmed, Trials: n,
		Note: fmt.Sprintf("runs per arm: %.1f on average", arm/float64(max(n, 1)))}}, nil
}

// experimentTrueCause: fails every run on musl unless its C threads get
// 8 MiB stacks (the c-stack-8m experiment).
func experimentTrueCause(ctx context.Context, sc Scale) ([]Row, error) {
	tests := append(siblings("TestA"), Test{Name: "TestStack", Fails: func(r Run) float64 {
		if r.Cell.Libc == matrix.Musl && r.Trial != "c-stack-8m" {
			return 1
		}
		return 0
	}})
	var n, right int
	var arm float64
	err := trials(ctx, sc, 300, Defaults, tests, func(_ int, r report.Report) {
		row, _ := rowOf(r, "TestStack")
		n++
		if e := row.Explanation; e != nil {
			right += boolInt(e.Confirmed && e.Experiment == "c-stack-8m")
			arm += float64(e.RunsPerArm)
		}
	})
	if err != nil {
		return nil, err
	}
	return []Row{{Case: "true cause, deterministic (musl fails unless 8 MiB C stacks)", Measure: "confirmed, by that experiment", Target: "≥ 95%", Bound: 0.95, Hits: right, Trials: n,
		Note: fmt.Sprintf("runs per arm: %.1f on average", arm/float64(max(n, 1)))}}, nil
}

// apartAndTogether: the same trials run as one report over every cell,
// and as one report per cell merged, then rechecked and merged until the
// merged report asks for nothing: the row's word and the verdict agree.
func apartAndTogether(ctx context.Context, sc Scale) ([]Row, error) {
	p, err := Defaults.plan()
	if err != nil {
		return nil, err
	}
	var out []Row
	for _, c := range []struct {
		name string
		test Test
	}{
		{"flaky alike, q = 0.2", Test{Name: "TestX", Fails: rate(0.2)}},
		{"intermittent, 70% vs 0% on libc", Test{Name: "TestX", Fails: onMusl(0.7)}},
		{"deterministic on libc", Test{Name: "TestX", Fails: onMusl(1)}},
	} {
		tests := append(siblings("TestA"), c.test)
		n := max(1, 300/max(sc.Divisor, 1))
		agree := 0
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, n)
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				w := World{Tests: tests, Seed: sc.Seed, Trial: i}
				a := together(ctx, p, w)
				b, err := apart(ctx, p, w)
				if err != nil {
					errs <- err
					return
				}
				ra, _ := rowOf(a, "TestX")
				rb, _ := rowOf(b, "TestX")
				mu.Lock()
				agree += boolInt(label(ra) == label(rb) && a.Conclusion.OK == b.Conclusion.OK)
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return nil, err
		}
		out = append(out, Row{Case: "apart, merged and rechecked, against together: " + c.name, Measure: "same word and verdict", Target: "≥ 99%", Bound: 0.99, Hits: agree, Trials: n})
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Table renders the rows as the Markdown table docs/verdicts.md holds.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| case | measure | target | measured | trials | note |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		mark := ""
		if !r.Met() {
			mark = " **MISSED**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s (%d)%s | %d | %s |\n", r.Case, r.Measure, r.Target, percent(r.Rate()), r.Hits, mark, r.Trials, r.Note)
	}
	return b.String()
}

func percent(x float64) string {
	s := fmt.Sprintf("%.2f%%", 100*x)
	return strings.Replace(s, ".00%", "%", 1)
}

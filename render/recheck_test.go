package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// recheckReport: TestFlake failed once on musl and passed its re-runs;
// TestStack fails on musl every time, explained by an experiment.
func recheckReport(failOnFlaky bool) report.Report {
	g := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	m := matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	res := func(c matrix.Cell, o testjson.Outcome) report.Result {
		return report.Result{Cell: c.String(), Outcome: o}
	}
	r := report.Report{
		SchemaVersion: report.SchemaVersion,
		Source:        report.Source{Module: "ex"},
		Options:       report.Options{Reruns: 2, RerunsMax: 10, FailOnFlaky: failOnFlaky},
		Cells: []report.Cell{
			{Cell: g, Name: g.String(), Status: job.StatusPassed},
			{Cell: m, Name: m.String(), Status: job.StatusFailed},
		},
		Tests: []report.TestRow{
			{Package: "ex/flaky", Test: "TestFlake", Results: []report.Result{res(g, testjson.Pass), res(m, testjson.Fail)}},
			{Package: "ex/stack", Test: "TestStack", Results: []report.Result{res(g, testjson.Pass), res(m, testjson.Crashed)}},
		},
	}
	// The re-runs, as the pipeline records them: TestFlake alone twice
	// per cell; TestStack alone six times, then the experiments: the
	// control and 8 MiB stacks, each RunsPerArm times, and CGO_ENABLED
	// flipped, which failed to build once.
	add := func(row, cell int, rr report.Rerun) {
		r.Tests[row].Results[cell].Reruns = append(r.Tests[row].Results[cell].Reruns, rr)
	}
	for cell := range 2 {
		for i := range 2 {
			add(0, cell, report.Rerun{Kind: report.RunAlone, Index: i + 1, Outcome: testjson.Pass})
		}
	}
	for i := range 6 {
		add(1, 0, report.Rerun{Kind: report.RunAlone, Index: i + 1, Outcome: testjson.Pass})
		add(1, 1, report.Rerun{Kind: report.RunAlone, Index: i + 1, Outcome: testjson.Crashed})
	}
	n := report.ArmRuns(6, 6, 2, report.RowAlpha)
	for i := range n {
		add(1, 1, report.Rerun{Kind: report.RunControl, Index: i + 1, Outcome: testjson.Crashed, Towards: g.String()})
		add(1, 1, report.Rerun{Kind: report.RunExperiment, Index: i + 1, Outcome: testjson.Pass, Trial: "c-stack-8m", Description: "8 MiB C thread stacks", Rank: 2, Towards: g.String()})
	}
	add(1, 1, report.Rerun{Kind: report.RunExperiment, Index: 1, Outcome: testjson.BuildFail, Trial: "cgo-flip", Description: "CGO_ENABLED flipped", Rank: 3, Towards: g.String()})
	// A merge of one report derives what its runs imply (flaky, divergent,
	// the verdict), as Build does.
	r, err := report.Merge(r)
	if err != nil {
		panic(err)
	}
	return r
}

func TestRenderersShowFlakyAndExplanations(t *testing.T) {
	r := recheckReport(false)
	var term, md, junit bytes.Buffer
	if err := Terminal(&term, r, TerminalOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := JUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		out  string
		want []string
	}{
		"terminal": {term.String(), []string{"FLAKY (1)", "go1.26.8/musl/amd64: 2 passed, 1 failed (fail pass pass)",
			"explain: confirmed: passes 7 of 7 runs on go1.26.8/musl/amd64 with 8 MiB C thread stacks; unchanged, alone in the same rounds, it fails 7 of 7 (one-sided Fisher exact test p = 0.00029 ≤ 0.005: 0.01 over 2 experiments) (experiments in go1.26.8/musl/amd64, towards go1.26.8/glibc/amd64)",
			"tested: alone, fails 6 of 6 on go1.26.8/musl/amd64, 0 of 6 on go1.26.8/glibc/amd64 (one-sided Fisher exact test p = 0.0011 ≤ 0.002: 0.01 over 1 hypothesis × 5 looks)",
			"1 divergent test, 1 flaky test"}},
		"markdown": {md.String(), []string{"### Flaky tests (1)", "| go1.26.8/musl/amd64 | 2 | 1 | fail pass pass |",
			"**Experiment:** confirmed: passes 7 of 7 runs on go1.26.8/musl/amd64 with 8 MiB C thread stacks", "Tried: unchanged, alone: passes 0 of 7; 8 MiB C thread stacks: passes 7 of 7; CGO\\_ENABLED flipped: passes 0 of 1"}},
		"junit": {junit.String(), []string{`<property name="flaky" value="go1.26.8/musl/amd64: 2 passed, 1 failed (fail pass pass)">`,
			`<property name="explanation" value="confirmed: passes 7 of 7 runs on go1.26.8/musl/amd64 with 8 MiB C thread stacks; unchanged`, `<property name="decision" value="tested: alone, fails 6 of 6`}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.out, w) {
				t.Errorf("%s output lacks %q:\n%s", name, w, c.out)
			}
		}
	}
	if strings.Count(term.String(), "TestFlake") != 1 {
		t.Errorf("the flaky test is listed elsewhere than FLAKY:\n%s", term.String())
	}
	// In JUnit a flaky test fails nothing, unless --fail-on-flaky.
	if strings.Count(junit.String(), "<failure") != 0 || strings.Count(junit.String(), "<error") != 1 {
		t.Errorf("junit: want the crash as the only problem:\n%s", junit.String())
	}
	junit.Reset()
	if err := JUnit(&junit, recheckReport(true)); err != nil {
		t.Fatal(err)
	}
	if strings.Count(junit.String(), "<failure") != 1 {
		t.Errorf("junit with --fail-on-flaky: want the flake as a failure:\n%s", junit.String())
	}
}

func TestJUnitCasesWithoutRecheckHaveNoProperties(t *testing.T) {
	var junit bytes.Buffer
	if err := JUnit(&junit, recheckReport(false)); err != nil {
		t.Fatal(err)
	}
	// Two suites; the flaky case; the divergent test's case in both cells
	// (its decision), with the explanation in the cell it ran in.
	if n := strings.Count(junit.String(), "<properties>"); n != 2+3 {
		t.Errorf("%d <properties> elements, want 5:\n%s", n, junit.String())
	}
}

// An intermittent divergence shows its counts per cell in every renderer
// (issue 14): "fails 3 of 4 on musl, 0 of 4 on glibc".
func TestIntermittentCountsEverywhere(t *testing.T) {
	musl := matrix.Cell{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64}
	glibc := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	stream := func(o string) string {
		return `{"Action":"start","Package":"p"}` + "\n" +
			`{"Action":"run","Package":"p","Test":"TestX"}` + "\n" +
			`{"Action":"output","Package":"p","Test":"TestX","Output":"=== RUN   TestX\n"}` + "\n" +
			`{"Action":"output","Package":"p","Test":"TestX","Output":"--- ` + strings.ToUpper(o) + `: TestX (0.00s)\n"}` + "\n" +
			`{"Action":"` + o + `","Package":"p","Test":"TestX"}` + "\n" +
			`{"Action":"output","Package":"p","Output":"` + map[string]string{"pass": "ok  ", "fail": "FAIL"}[o] + `\tp\t0.01s\n"}` + "\n" +
			`{"Action":"` + o + `","Package":"p"}` + "\n"
	}
	var rr []report.RerunOf
	for i, o := range []testjson.Outcome{testjson.Fail, testjson.Pass, testjson.Fail, testjson.Fail, testjson.Fail, testjson.Fail, testjson.Fail, testjson.Fail} {
		rr = append(rr, report.RerunOf{Package: "p", Test: "TestX", Cell: musl.String(), Rerun: report.Rerun{Kind: report.RunAlone, Index: i + 1, Outcome: o}})
		rr = append(rr, report.RerunOf{Package: "p", Test: "TestX", Cell: glibc.String(), Rerun: report.Rerun{Kind: report.RunAlone, Index: i + 1, Outcome: testjson.Pass}})
	}
	r := report.Build(report.Meta{Options: report.Options{Reruns: 2, RerunsMax: 10}}, report.Runs{Cells: []job.Result{
		{Cell: glibc, Status: job.StatusPassed, TestJSON: stream("pass")},
		{Cell: musl, Status: job.StatusFailed, TestJSON: stream("fail")},
	}, Reruns: rr})
	if len(r.Divergences) != 1 || !r.Divergences[0].Intermittent {
		t.Fatalf("divergences %+v", r.Divergences)
	}
	want := "fails 7 of 8 on go1.26.8/musl/amd64, 0 of 8 on go1.26.8/glibc/amd64"
	var term, md, junit strings.Builder
	if err := Terminal(&term, r, TerminalOptions{Width: 200}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := JUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"terminal": term.String(), "markdown": md.String(), "junit": junit.String()} {
		if !strings.Contains(out, want) || !strings.Contains(out, "intermittent") {
			t.Errorf("%s lacks %q:\n%s", name, want, out)
		}
	}
	if !strings.Contains(junit.String(), `<property name="intermittent" value="`+want) {
		t.Errorf("junit property missing:\n%s", junit.String())
	}
}

// A cell whose only result counts as flaky must not read as if nothing ran
// there: the cells tables give flaky tests their own column.
func TestCellsTablesCountFlakyTests(t *testing.T) {
	r := recheckReport(false)
	var term, md strings.Builder
	if err := Terminal(&term, r, TerminalOptions{Width: 200}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	musl := "go1.26.8/musl/amd64"
	for name, out := range map[string]string{"terminal": term.String(), "markdown": md.String()} {
		var header, row string
		for _, l := range strings.Split(out, "\n") {
			if header == "" && strings.Contains(l, "SKIP") || strings.Contains(l, "| Skip |") {
				header = l
			}
			if row == "" && strings.Contains(l, musl) && (strings.Contains(l, "failed") || strings.Contains(l, "| failed |")) {
				row = l
			}
		}
		if !strings.Contains(strings.ToLower(header), "flaky") {
			t.Errorf("%s: cells header %q has no flaky column", name, header)
		}
		f := strings.FieldsFunc(row, func(r rune) bool { return r == ' ' || r == '|' })
		// cell, status, pass, fail, skip, other, flaky
		if len(f) < 7 || f[2] != "0" || f[3] != "0" || f[5] != "1" || f[6] != "1" {
			t.Errorf("%s: musl row %q: want pass 0, fail 0, other 1, flaky 1", name, row)
		}
	}
}

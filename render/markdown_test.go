package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
)

func TestMarkdownGolden(t *testing.T) {
	var b strings.Builder
	if err := Markdown(&b, fixtureReport(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "markdown.golden", b.String())
}

func TestCellText(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":           `a\|b`,
		"one\ntwo\n":    "one<br>two",
		"x\r\ny":        "x<br>y",
		"<script>&amp;": "&lt;script&gt;&amp;amp;",
	} {
		if got := cellText(in); got != want {
			t.Errorf("cellText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFencedCannotBeClosedByOutput(t *testing.T) {
	got := fenced("before\n````\nafter")
	if !strings.HasPrefix(got, "`````text\n") || !strings.HasSuffix(got, "\n`````\n") {
		t.Errorf("fenced = %q", got)
	}
}

// A test name with a pipe and output with HTML must not break the table.
func TestMarkdownHostileNames(t *testing.T) {
	r := fixtureReport(t)
	for i := range r.Tests {
		if r.Tests[i].Test == "TestRunsBash" {
			r.Tests[i].Test = "TestRunsBash/a|b<i>"
		}
	}
	for i := range r.Divergences {
		if r.Divergences[i].Test == "TestRunsBash" {
			r.Divergences[i].Test = "TestRunsBash/a|b<i>"
		}
	}
	var b strings.Builder
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var row string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| platform.TestRunsBash") {
			row = l
		}
	}
	if row == "" {
		t.Fatalf("no table row for the renamed test:\n%s", out)
	}
	// Unescaped pipes delimit columns: test + 3 cells + axis + cause = 6 columns.
	if n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(row, -1)); n != 7 {
		t.Errorf("row has %d column separators, want 7: %s", n, row)
	}
	if strings.Contains(out, "<i>") {
		t.Error("HTML from a test name reached the summary")
	}
}

func TestMarkdownPass(t *testing.T) {
	r := report.Build(report.Meta{Source: report.Source{Module: "example.com/fx"}}, report.Runs{Cells: []job.Result{{
		Cell: matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}, Status: job.StatusPassed,
		TestJSON: readCapture(t, "go126-attrs.json"),
	}}})

	var b strings.Builder
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "## ✅ Parity: PASS\n") || strings.Contains(b.String(), "###") {
		t.Errorf("passing summary:\n%s", b.String())
	}
}

package render

import (
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
)

// The JUnit shape CI reporters read, declared independently of junit.go so
// that the test checks the document, not the encoder's own types.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []xSuite `xml:"testsuite"`
}

type xSuite struct {
	Name       string  `xml:"name,attr"`
	Tests      int     `xml:"tests,attr"`
	Failures   int     `xml:"failures,attr"`
	Errors     int     `xml:"errors,attr"`
	Skipped    int     `xml:"skipped,attr"`
	Time       string  `xml:"time,attr"`
	Properties []xProp `xml:"properties>property"`
	Cases      []xCase `xml:"testcase"`
	SystemOut  string  `xml:"system-out"`
}

type xProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xCase struct {
	Classname string    `xml:"classname,attr"`
	Name      string    `xml:"name,attr"`
	Time      string    `xml:"time,attr"`
	Failure   *xProblem `xml:"failure"`
	Error     *xProblem `xml:"error"`
	Skipped   *xProblem `xml:"skipped"`
}

type xProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func decodeJUnit(t *testing.T, r report.Report) xSuites {
	t.Helper()
	var b strings.Builder
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Error("no XML declaration")
	}
	var doc xSuites
	if err := xml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, b.String())
	}
	return doc
}

func TestJUnitShape(t *testing.T) {
	r := fixtureReport(t)
	doc := decodeJUnit(t, r)
	if len(doc.Suites) != len(r.Cells) {
		t.Fatalf("%d suites, want one per cell (%d)", len(doc.Suites), len(r.Cells))
	}
	var sum xSuites
	for i, s := range doc.Suites {
		if s.Name != r.Cells[i].Name {
			t.Errorf("suite %d named %q, want %q", i, s.Name, r.Cells[i].Name)
		}
		var f, e, sk int
		for _, c := range s.Cases {
			if c.Failure != nil {
				f++
			}
			if c.Error != nil {
				e++
			}
			if c.Skipped != nil {
				sk++
			}
			if _, err := strconv.ParseFloat(c.Time, 64); err != nil {
				t.Errorf("%s %s: time %q", s.Name, c.Name, c.Time)
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != f || s.Errors != e || s.Skipped != sk {
			t.Errorf("%s: attributes tests=%d failures=%d errors=%d skipped=%d, children %d %d %d %d",
				s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), f, e, sk)
		}
		sum.Tests += s.Tests
		sum.Failures += s.Failures
		sum.Errors += s.Errors
		sum.Skipped += s.Skipped
	}
	if doc.Tests != sum.Tests || doc.Failures != sum.Failures || doc.Errors != sum.Errors || doc.Skipped != sum.Skipped {
		t.Errorf("testsuites totals %+v, want the sums %+v", doc, sum)
	}
}

func findCase(t *testing.T, doc xSuites, suite, classname, name string) xCase {
	t.Helper()
	for _, s := range doc.Suites {
		if s.Name != suite {
			continue
		}
		for _, c := range s.Cases {
			if c.Classname == classname && c.Name == name {
				return c
			}
		}
	}
	t.Fatalf("no test case %s %s in suite %s", classname, name, suite)
	return xCase{}
}

func TestJUnitCases(t *testing.T) {
	doc := decodeJUnit(t, fixtureReport(t))
	const musl = "go1.26.8/musl/amd64"
	bash := findCase(t, doc, musl, "example.com/fx/platform", "TestRunsBash")
	if bash.Failure == nil || bash.Failure.Type != "fail" || !strings.Contains(bash.Failure.Message, "executable file not found") ||
		!strings.Contains(bash.Failure.Text, "--- FAIL: TestRunsBash") {
		t.Errorf("TestRunsBash = %+v", bash)
	}
	crash := findCase(t, doc, musl, "example.com/fx/cgostack", "TestDeepCStack")
	if crash.Error == nil || crash.Error.Type != "crashed" || crash.Error.Message != "signal: segmentation fault" {
		t.Errorf("TestDeepCStack = %+v", crash)
	}
	skip := findCase(t, doc, musl, "example.com/fx/platform", "TestSkipsWithoutBash")
	if skip.Skipped == nil || !strings.Contains(skip.Skipped.Message, "bash not installed") {
		t.Errorf("TestSkipsWithoutBash = %+v", skip)
	}
	pass := findCase(t, doc, "go1.26.8/glibc/amd64", "example.com/fx/platform", "TestEverywhere")
	if pass.Failure != nil || pass.Error != nil || pass.Skipped != nil {
		t.Errorf("TestEverywhere = %+v", pass)
	}
	old := findCase(t, doc, "go1.22.12/musl/amd64", "parity", "cell go1.22.12/musl/amd64")
	if old.Error == nil || old.Error.Type != "not-runnable" || !strings.Contains(old.Error.Message, "toolchain too old") {
		t.Errorf("not-runnable cell = %+v", old)
	}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Name == "TestAfterCrash" && s.Name == musl {
				t.Error("TestAfterCrash reported in the cell that did not run it")
			}
		}
	}
}

// Output with characters XML cannot hold, and with the CDATA terminator.
func TestJUnitHostileOutput(t *testing.T) {
	cell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	out := "=== RUN   TestX\n    x_test.go:3: \x1b[31mred\x1b[0m ]]> <tag> & \x00 \"q\"\n--- FAIL: TestX (0.00s)\n"
	stream := `{"Action":"run","Package":"p","Test":"TestX"}` + "\n"
	for line := range strings.Lines(out) {
		q, _ := json.Marshal(line)
		stream += `{"Action":"output","Package":"p","Test":"TestX","Output":` + string(q) + "}\n"
	}
	stream += `{"Action":"fail","Package":"p","Test":"TestX"}` + "\n" + `{"Action":"fail","Package":"p"}` + "\n"
	r := report.Build(report.Meta{}, report.Runs{Cells: []job.Result{{Cell: cell, Status: job.StatusFailed, TestJSON: stream}}})
	doc := decodeJUnit(t, r)
	c := findCase(t, doc, cell.String(), "p", "TestX")
	if c.Failure == nil || !strings.Contains(c.Failure.Text, "]]> <tag> & ") || !strings.Contains(c.Failure.Text, "\uFFFD[31mred") {
		t.Errorf("failure = %+v", c.Failure)
	}
}

func TestJUnitCellCutShort(t *testing.T) {
	cell := matrix.Cell{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64}
	stream := readCapture(t, "go126-timeout.json")
	stream = stream[:strings.Index(stream, "panic: test timed out")]
	stream = stream[:strings.LastIndex(stream, "\n")+1]
	r := report.Build(report.Meta{}, report.Runs{Cells: []job.Result{{Cell: cell, Status: job.StatusTimeout, Message: "cell timed out after 1m0s", TestJSON: stream}}})
	doc := decodeJUnit(t, r)
	c := findCase(t, doc, cell.String(), "parity", "cell "+cell.String())
	if c.Error == nil || c.Error.Type != "timeout" {
		t.Errorf("cell case = %+v", c)
	}
	if sleeps := findCase(t, doc, cell.String(), "example.com/fx/slow", "TestSleeps"); sleeps.Error == nil || sleeps.Error.Type != "timeout" {
		t.Errorf("TestSleeps = %+v", sleeps)
	}
	// A cell that failed with no failing test still shows red.
	r = report.Build(report.Meta{}, report.Runs{Cells: []job.Result{{Cell: cell, Status: job.StatusFailed, TestJSON: "go: -race requires cgo; enable cgo by setting CGO_ENABLED=1\n"}}})
	doc = decodeJUnit(t, r)
	c = findCase(t, doc, cell.String(), "parity", "cell "+cell.String())
	if c.Error == nil || !strings.Contains(c.Error.Text, "-race requires cgo") {
		t.Errorf("cell case = %+v", c)
	}
}

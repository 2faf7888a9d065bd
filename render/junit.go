package render

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

// The JUnit XML shape CI test reporters read (Jenkins, GitHub test-report
// actions, GitLab): testsuites > testsuite > testcase with failure, error,
// skipped and system-out children; counts and times as attributes.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out,omitempty"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	// Properties: "flaky" and "explanation" (re-runs and experiments); a
	// pointer, since encoding/xml writes an empty "a>b" parent anyway.
	Properties *junitCaseProperties `xml:"properties,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"` // CDATA keeps output readable in the file
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

// packageCaseName names the test case of a package's own problem (a build
// failure, a panic in init).
const packageCaseName = "(package)"

// JUnit writes one <testsuite> per cell, named after the cell, with a
// <testcase> per test it ran: <failure> for fail, <error> for panic,
// timeout, crashed and build-fail, <skipped> for skip. A cell that did not
// run to the end lists the results it has plus one <testcase> with an
// <error> saying why, and a cell whose test output was forged one more, so
// that CI shows both.
func JUnit(w io.Writer, r report.Report) error {
	doc := junitSuites{Name: "parity"}
	var total float64
	for _, c := range r.Cells {
		s := junitSuiteOf(r, c)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += c.DurationSeconds
		doc.Suites = append(doc.Suites, s)
	}
	for _, s := range compileSuites(r) { // compile.go: the --compile targets
		doc.Tests, doc.Failures, doc.Errors = doc.Tests+s.Tests, doc.Failures+s.Failures, doc.Errors+s.Errors
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("writing junit: %w", err)
	}
	return nil
}

func junitSuiteOf(r report.Report, c report.Cell) junitSuite {
	s := junitSuite{Name: c.Name, Time: seconds(c.DurationSeconds)}
	if c.Output != "" {
		s.SystemOut = &junitText{xmlText(c.Output)}
	}
	for _, p := range []junitProperty{
		{"status", string(c.Status)},
		{"runtime", c.Runtime},
		{"image", c.Image},
		{"platformDigest", c.PlatformDigest},
		{"race", strconv.FormatBool(c.Race)},
	} {
		if p.Value != "" {
			s.Properties = append(s.Properties, p)
		}
	}
	if !c.Started.IsZero() {
		s.Timestamp = c.Started.UTC().Format("2006-01-02T15:04:05")
	}
	for _, row := range r.Tests {
		res, ok := row.Result(c.Name)
		if !ok || row.IsPackage() && !res.Outcome.Failed() {
			continue
		}
		tc := junitCase{Classname: row.Package, Name: row.Test, Time: seconds(res.ElapsedSeconds)}
		if row.IsPackage() {
			tc.Name = packageCaseName
		}
		msg := report.FirstMessage(res.Output)
		switch {
		case junitRecheck(r, row, c.Name, &tc): // flaky: a property, not a failure
		case res.Outcome == testjson.Fail:
			tc.Failure = &junitProblem{Message: msg, Type: string(res.Outcome), Body: xmlText(res.Output)}
			s.Failures++
		case res.Outcome.Failed():
			if msg == "" {
				msg = string(res.Outcome)
			}
			tc.Error = &junitProblem{Message: msg, Type: string(res.Outcome), Body: xmlText(res.Output)}
			s.Errors++
		case res.Outcome == testjson.Skip:
			tc.Skipped = &junitSkipped{Message: msg}
			s.Skipped++
		case res.Outcome == testjson.NotRun && !c.RanTests():
			tc.Skipped = &junitSkipped{Message: "not finished: the cell ended first (" + string(c.Status) + ")"}
			s.Skipped++
		case res.Outcome == testjson.NotRun:
			tc.Skipped = &junitSkipped{Message: "not run: still waiting to run when its package ended"}
			s.Skipped++
		}
		s.Cases = append(s.Cases, tc)
		s.Tests++
	}
	// A cell cut short or not run, or failed with no failing test to show
	// for it, gets its own error case: otherwise CI would show it green.
	if !c.RanTests() || c.Status == job.StatusTimeout || c.Status == job.StatusFailed && s.Failures+s.Errors == 0 && !flakyCell(r, c.Name) {
		s.Cases = append([]junitCase{cellCase(c)}, s.Cases...)
		s.Tests++
		s.Errors++
	}
	if len(c.Tampered) > 0 {
		s.Cases = append([]junitCase{tamperCase(c)}, s.Cases...)
		s.Tests++
		s.Errors++
	}
	return s
}

// tamperCase is the test case saying the cell's test output was forged.
func tamperCase(c report.Cell) junitCase {
	var body strings.Builder
	for _, f := range c.Tampered {
		body.WriteString(tamperText(f) + "\n")
	}
	return junitCase{
		Classname: "parity", Name: "forged test output in " + c.Name, Time: seconds(0),
		Error: &junitProblem{
			Message: fmt.Sprintf("a test forged go test's output: %s the go command cannot print, first: %s", plural(len(c.Tampered), "event"), tamperText(c.Tampered[0])),
			Type:    "tampered", Body: xmlText(body.String()),
		},
	}
}

// cellCase is the test case standing for the cell itself.
func cellCase(c report.Cell) junitCase {
	msg := string(c.Status)
	if c.Message != "" {
		msg += ": " + c.Message
	}
	body := ""
	for _, st := range c.Steps {
		if st.StderrTail != "" || st.Error != "" {
			body += fmt.Sprintf("%s step %s%s\n%s\n", st.Name, stepEnd(st), errorSuffix(st.Error), st.StderrTail)
		}
	}
	return junitCase{
		Classname: "parity", Name: "cell " + c.Name, Time: seconds(c.DurationSeconds),
		Error: &junitProblem{Message: msg, Type: string(c.Status), Body: xmlText(body + c.Output)},
	}
}

// xmlText replaces the characters XML 1.0 cannot hold (a test's terminal
// escapes, NULs) with U+FFFD: encoding/xml escapes them in attributes but
// writes CDATA as it is.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return '\uFFFD'
		}
		return r
	}, s)
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }

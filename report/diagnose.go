package report

import (
	"regexp"
	"slices"
	"strings"

	"github.com/parity-ci/parity/testjson"
)

// maxEvidence caps the evidence line quoted in a cause.
const maxEvidence = 240

// diagnoseDivergence names the likely cause of a divergence: a signature
// matching the output of the cells on the wrong side, else flakiness, else
// what the separating axis suggests.
func diagnoseDivergence(row TestRow, d Divergence, results []Result, compared map[string]Cell) Cause {
	c := diagnoseAxes(row, d, results, compared)
	if b, ok := buildFailure(row, results, compared); ok && c.Generic {
		return b // a signature (a too-new API, say) tells more
	}
	if row.IsPackage() && c.Evidence == "" {
		// What the package printed outside its tests (TestMain, init) is
		// its story: show it.
		for _, r := range evidenceResults(results) {
			if msg := FirstMessage(r.Output); msg != "" {
				c.Evidence, c.EvidenceCell = msg, r.Cell
				break
			}
		}
	}
	return c
}

// compileError matches a compiler's error line: file.go:line:col: message.
var compileError = regexp.MustCompile(`\.go:\d+(:\d+)?: `)

// buildFailure is the cause of a package that does not build in some
// cells: the platforms, and the compiler's first error.
func buildFailure(row TestRow, results []Result, compared map[string]Cell) (Cause, bool) {
	if !row.IsPackage() {
		return Cause{}, false
	}
	var platforms []string
	c := Cause{ID: "build-fail", Hint: "build it for that platform (GOARCH, CGO_ENABLED, build tags) and fix what the compiler says: a file with a build constraint or _GOARCH suffix the others lack"}
	for _, r := range results {
		if r.Outcome != testjson.BuildFail {
			continue
		}
		cell := compared[r.Cell]
		p := cell.Cell.Platform()
		if !slices.Contains(platforms, p) {
			platforms = append(platforms, p)
		}
		if c.Evidence == "" {
			if line, ok := findLine(compileError, r.Output); ok {
				c.Evidence, c.EvidenceCell = line, r.Cell
			} else if msg := FirstMessage(r.Output); msg != "" {
				c.Evidence, c.EvidenceCell = msg, r.Cell
			}
		}
	}
	if platforms == nil {
		return Cause{}, false
	}
	c.Text = "the package does not build on " + strings.Join(platforms, ", ")
	if c.Evidence != "" {
		c.Text += ": " + c.Evidence
	}
	return c, true
}

// diagnoseAxes names a cause from signatures, else the separating axis.
func diagnoseAxes(row TestRow, d Divergence, results []Result, compared map[string]Cell) Cause {
	evidence := evidenceResults(results)
	if c, ok := matchSignatures(evidence, d.Axes, compared); ok {
		return c
	}
	if slices.ContainsFunc(results, func(r Result) bool { return r.Flaky }) {
		return flakyCause
	}
	for _, axis := range []string{AxisLibc, AxisArch, AxisRace, AxisGo} {
		if slices.Contains(d.Axes, axis) {
			c := axisCauses[axis]
			c.ID, c.Generic = "axis-"+axis, true
			if others := slices.DeleteFunc(slices.Clone(d.Axes), func(a string) bool { return a == axis }); len(others) > 0 {
				c.Text += " (the outcome also follows " + strings.Join(others, ", ") + ")"
			}
			return c
		}
	}
	return Cause{
		ID:      "unexplained",
		Text:    "the outcome follows no single axis: likely nondeterministic (timing, test order, shared state) or specific to " + strings.Join(d.Outliers, ", "),
		Hint:    "rerun with -count=N, or with the -shuffle seed the cell printed",
		Generic: true,
	}
}

// raceFailure reports whether the row failed only in cells running with
// -race, each failing result holding a race report (or, for a parent test,
// one of its subtests' results in that cell): a data race, which only the
// detector sees. It names the race signature's cause.
func raceFailure(row TestRow, compared map[string]Cell, rows []TestRow) (Cause, bool) {
	sig := signature("race")
	var c Cause
	for _, r := range comparedResults(row, compared) {
		if !r.Outcome.Failed() {
			continue
		}
		if !compared[r.Cell].Race {
			return Cause{}, false
		}
		line, ok := findLine(sig.Pattern, r.Output)
		if !ok && !row.IsPackage() {
			line, ok = subtestRace(rows, row, r.Cell, sig)
		}
		if !ok {
			return Cause{}, false
		}
		if c.ID == "" {
			c = Cause{ID: sig.ID, Text: sig.Cause, Hint: sig.Hint, Evidence: line, EvidenceCell: r.Cell}
		}
	}
	return c, c.ID != ""
}

// subtestRace finds a race report in the failing result, in the cell, of a
// subtest of row: testing prints the report under the subtest, and the
// parent fails only through it.
func subtestRace(rows []TestRow, row TestRow, cell string, sig Signature) (string, bool) {
	for _, sub := range rows {
		if sub.Package != row.Package || !strings.HasPrefix(sub.Test, row.Test+"/") {
			continue
		}
		if res, ok := sub.Result(cell); ok && res.Outcome.Failed() {
			if line, ok := findLine(sig.Pattern, res.Output); ok {
				return line, true
			}
		}
	}
	return "", false
}

// signature returns the named entry of Signatures.
func signature(id string) Signature {
	for _, s := range Signatures {
		if s.ID == id {
			return s
		}
	}
	panic("report: no signature " + id)
}

var flakyCause = Cause{
	ID:      "flaky",
	Text:    "the test's outcome varies between runs in the same cell",
	Hint:    "look for timing, ordering or shared state; -count=N reproduces it",
	Generic: true,
}

// diagnoseFailure names the likely cause of a failure common to every cell
// that ran the test: only signatures without an axis condition can match.
func diagnoseFailure(row TestRow, compared map[string]Cell) Cause {
	results := comparedResults(row, compared)
	if len(results) == 0 {
		results = row.Results // failed only where cells are not compared (a timed-out cell)
	}
	if c, ok := matchSignatures(evidenceResults(results), nil, compared); ok {
		return c
	}
	if slices.ContainsFunc(results, func(r Result) bool { return r.Flaky }) {
		return flakyCause
	}
	return Cause{
		ID:      "fails-everywhere",
		Text:    "fails in every cell that ran it: the code or the test, not the platform",
		Generic: true,
	}
}

// evidenceResults picks the results whose output explains the difference:
// the failing ones, or for a pass/skip divergence the skipping ones.
func evidenceResults(results []Result) []Result {
	var failed, skipped []Result
	for _, r := range results {
		switch {
		case r.Outcome.Failed():
			failed = append(failed, r)
		case r.Outcome == "skip":
			skipped = append(skipped, r)
		}
	}
	if failed != nil {
		return failed
	}
	return skipped
}

func matchSignatures(results []Result, axes []string, compared map[string]Cell) (Cause, bool) {
	for _, sig := range Signatures {
		if sig.Axis != "" && !slices.Contains(axes, sig.Axis) {
			continue
		}
		if sig.Value != "" && !slices.ContainsFunc(results, func(r Result) bool { return AxisValue(compared[r.Cell], sig.Axis) == sig.Value }) {
			continue
		}
		for _, r := range results {
			if sig.Value != "" && AxisValue(compared[r.Cell], sig.Axis) != sig.Value {
				continue
			}
			if line, ok := findLine(sig.Pattern, r.Output); ok {
				return Cause{ID: sig.ID, Text: sig.Cause, Hint: sig.Hint, Evidence: line, EvidenceCell: r.Cell}, true
			}
		}
	}
	return Cause{}, false
}

// framing matches the lines go test prints around every test and package,
// the race detector's ==== rules, and stack frames: none of them says why a test failed, and
// their durations and addresses would look like data to the signatures.
var framing = regexp.MustCompile(`^(=+$|=== (RUN|PAUSE|CONT|NAME|ATTR|ARTIFACTS) |\s*--- (PASS|FAIL|SKIP|BENCH): |(PASS|FAIL)$|(ok|FAIL)\s+\S+\s+(\d+\.\d+s|\(cached\)|\[)|exit status \d+$|\s+\S+\.(go|s):\d+( \+0x[0-9a-f]+)?$|\s{0,2}\S+\(.*\)$|goroutine \d+ \[|created by )`)

// findLine returns the first non-framing line of output the pattern
// matches, trimmed.
func findLine(p *regexp.Regexp, output string) (string, bool) {
	for line := range strings.Lines(output) {
		line = strings.TrimRight(line, "\r\n")
		if framing.MatchString(line) || !p.MatchString(line) {
			continue
		}
		line = strings.TrimSpace(line)
		if len(line) > maxEvidence {
			line = line[:maxEvidence] + "..."
		}
		return line, true
	}
	return "", false
}

// FirstMessage returns the first line of output that says something: not
// go test's framing, not a stack frame; trimmed, capped. Renderers use it
// as the one-line message of a failure or skip.
//
// A log call with an empty message ("host_test.go:78: ") followed by a
// block of tab-separated fields is testify's: the message is taken from its
// Error and Messages fields.
func FirstMessage(output string) string {
	line, _ := findLine(anything, output)
	if !emptyLog.MatchString(line) {
		return line
	}
	_, rest, _ := strings.Cut(output, line)
	_, rest, _ = strings.Cut(rest, "\n") // the fields start on the next line
	if detail := testifyDetail(rest); detail != "" {
		line += " " + detail
	}
	if len(line) > maxEvidence {
		line = line[:maxEvidence] + "..."
	}
	return line
}

var (
	anything = regexp.MustCompile(`\S`)
	emptyLog = regexp.MustCompile(`^\S+\.go:\d+:$`)
	// testifyField is one line of testify's failure block: a label
	// ("Error:", or blank for a continuation) and a value, tab-separated.
	testifyField = regexp.MustCompile(`^ *\t([A-Za-z ]*:)?\s*\t(.*)$`)
)

// testifyDetail condenses the field block after testify's empty log line:
// the Error field (up to a blank line or its Diff), then the Messages.
func testifyDetail(block string) string {
	var errParts []string
	var messages, label string
	inError := false
	for line := range strings.Lines(block) {
		m := testifyField.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
		if m == nil {
			break // the block ended ("--- FAIL: ...")
		}
		if l := strings.TrimSpace(m[1]); l != "" {
			label = l
			inError = label == "Error:"
		}
		value := strings.Join(strings.Fields(m[2]), " ")
		switch {
		case label == "Messages:" && value != "":
			messages = strings.TrimSpace(messages + " " + value)
		case inError && (value == "" || value == "Diff:"):
			inError = false
		case inError:
			errParts = append(errParts, value)
		}
	}
	detail := strings.Join(errParts, " ")
	if messages != "" {
		detail = strings.TrimSpace(detail + " (" + messages + ")")
	}
	return detail
}

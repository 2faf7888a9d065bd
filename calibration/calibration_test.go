package calibration

import (
	"context"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "write the measured table into docs/verdicts.md")

// Seed is the calibration suite's seed: the table in docs/verdicts.md is
// what it gives.
const Seed = 20261207

const (
	docPath    = "../docs/verdicts.md"
	beginTable = "<!-- calibration table: go test ./calibration -update writes it -->\n"
	endTable   = "<!-- end of calibration table -->\n"
)

// TestCalibration runs every scenario at full size and fails when a rate
// misses its target, or when docs/verdicts.md does not show what it
// measured. With -short, a tenth of the trials, targets only.
func TestCalibration(t *testing.T) {
	sc := Scale{Seed: Seed, Divisor: 1}
	if testing.Short() {
		sc.Divisor = 10
	}
	rows, err := Suite(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	table := Table(rows)
	t.Logf("\n%s", table)
	for _, r := range rows {
		if !r.Met() {
			t.Errorf("%s: %s: %.2f%% (%d of %d), target %s", r.Case, r.Measure, 100*r.Rate(), r.Hits, r.Trials, r.Target)
		}
	}
	if testing.Short() {
		return
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), beginTable)
	_, after, ok2 := strings.Cut(rest, endTable)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the table's markers", docPath)
	}
	want := before + beginTable + table + endTable + after
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != string(doc) {
		t.Errorf("%s does not show what the suite measured (go test ./calibration -update writes it):\n%s", docPath, table)
	}
}

// TestQuickLook prints the table at a tenth (or CALIB_DIVISOR) of the
// trials, for a quick look while changing the procedure.
func TestQuickLook(t *testing.T) {
	d, _ := strconv.Atoi(os.Getenv("CALIB_DIVISOR"))
	if d == 0 {
		t.Skip("CALIB_DIVISOR unset")
	}
	rows, err := Suite(context.Background(), Scale{Seed: Seed, Divisor: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + Table(rows))
}

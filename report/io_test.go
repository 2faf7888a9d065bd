package report

import (
	"bytes"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func jsonOf(t *testing.T, r Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// The fixture report's JSON is kept as a golden file: a change to it is a
// change to the record's schema or to the analysis, and must be reviewed
// (and, if a field is removed or changes meaning, bump SchemaVersion).
func TestFixtureReportGolden(t *testing.T) {
	got := jsonOf(t, fixtureReport(t))
	const path = "testdata/fixture-report.golden.json"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s (go test -update to accept):\n%s", path, firstDiff(got, string(want)))
	}
}

func TestReadWriteRoundTrip(t *testing.T) {
	r := fixtureReport(t)
	first := jsonOf(t, r)
	back, err := Read(strings.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if second := jsonOf(t, back); second != first {
		t.Errorf("round trip changed the report:\n%s", firstDiff(second, first))
	}
	// Recomputing from what was read gives the same analysis: the record is
	// self-contained.
	if again := jsonOf(t, finish(back)); again != first {
		t.Errorf("recomputing a read report changed it:\n%s", firstDiff(again, first))
	}
}

func TestReadRefuses(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"schemaVersion": 1, "cells": []}`, "schema version 1, this Parity reads version 2"},
		{`{"schemaVersion": 3, "cells": []}`, "schema version 3"},
		{`{"cells": []}`, "not a Parity report"},
		{`not json`, "reading report"},
	} {
		if _, err := Read(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Read(%q) = %v, want %q", c.in, err, c.want)
		}
	}
	// Unknown fields from a newer writer of the same version are ignored.
	if _, err := Read(strings.NewReader(`{"schemaVersion": 2, "futureField": true}`)); err != nil {
		t.Errorf("unknown field refused: %v", err)
	}
}

func TestJSONFieldNames(t *testing.T) {
	out := jsonOf(t, fixtureReport(t))
	for _, key := range []string{`"schemaVersion": 2`, `"levels"`, `"tool"`, `"createdAt"`, `"source"`, `"goLine"`, `"options"`, `"cells"`, `"platformDigest"`, `"decisions"`, `"durationSeconds"`, `"cpuSeconds"`, `"counts"`, `"steps"`, `"tests"`, `"results"`, `"elapsedSeconds"`, `"divergences"`, `"axes"`, `"verdict"`, `"evidence"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// Package report turns the results of every cell into the record of a run:
// one row per test with its outcome in each cell, the tests whose outcome
// differs between cells (divergences) with the axis that separates them and
// a likely cause, and a verdict.
//
// The Report is the JSON record (see docs/report-schema.md): self-contained,
// versioned by SchemaVersion, and mergeable, so that reports made on
// separate machines (say amd64 and arm64 hosts) merge into one verdict.
// Everything derived — rows' flags, divergences, causes, counts, verdict —
// is recomputed from the cells and their per-test results by Build and
// Merge alike, so a merged report is the report one run would have made.
package report

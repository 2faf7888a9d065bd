package report

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes the report as indented JSON, the record's format.
func (r Report) WriteJSON(w io.Writer) error { return WriteIndented(w, r, "report") }

// WriteIndented writes v as the indented JSON Parity's files are (the
// report, a recheck, a recheck plan); what names it in an error.
func WriteIndented(w io.Writer, v any, what string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // output is read by people: keep <, > and & as they are
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	return nil
}

// Read reads a report WriteJSON wrote. Unknown fields are ignored: a newer
// Parity may add optional fields without changing SchemaVersion. Reports of
// another schema version are refused.
func Read(rd io.Reader) (Report, error) {
	var probe struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return Report{}, fmt.Errorf("reading report: %w", err)
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Report{}, fmt.Errorf("reading report: %w", err)
	}
	switch {
	case probe.SchemaVersion == nil:
		return Report{}, fmt.Errorf("reading report: no schemaVersion: not a Parity report")
	case *probe.SchemaVersion != SchemaVersion:
		return Report{}, fmt.Errorf("reading report: schema version %d, this Parity reads version %d", *probe.SchemaVersion, SchemaVersion)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return Report{}, fmt.Errorf("reading report: %w", err)
	}
	return r, nil
}

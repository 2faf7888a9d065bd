package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// KindRechecked marks the file parity recheck writes.
const KindRechecked = "recheck"

// Rechecked is what parity recheck writes: the re-runs and experiments it
// made for a merged report in some cells, with the source and options it
// made them with. parity merge folds it into that report (Fold).
type Rechecked struct {
	SchemaVersion int       `json:"schemaVersion"`
	Kind          string    `json:"kind"`
	Tool          Tool      `json:"tool"`
	CreatedAt     time.Time `json:"createdAt"`
	Source        Source    `json:"source"`
	Options       Options   `json:"options"`
	// Cells are the cells the runs were made in.
	Cells  []string  `json:"cells"`
	Reruns []RerunOf `json:"reruns"`
}

// WriteJSON writes the file as indented JSON.
func (c Rechecked) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("writing recheck: %w", err)
	}
	return nil
}

// Kind reads what a Parity JSON file is: "" for a report, KindRechecked,
// or another kind (a recheck plan).
func Kind(data []byte) (string, error) {
	var probe struct {
		SchemaVersion *int   `json:"schemaVersion"`
		Kind          string `json:"kind"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", err
	}
	if probe.SchemaVersion == nil {
		return "", fmt.Errorf("no schemaVersion: not a Parity report")
	}
	if *probe.SchemaVersion != SchemaVersion {
		return "", fmt.Errorf("schema version %d, this Parity reads version %d", *probe.SchemaVersion, SchemaVersion)
	}
	return probe.Kind, nil
}

// ReadRechecked reads a file parity recheck wrote.
func ReadRechecked(data []byte) (Rechecked, error) {
	kind, err := Kind(data)
	if err != nil {
		return Rechecked{}, fmt.Errorf("reading recheck: %w", err)
	}
	if kind != KindRechecked {
		return Rechecked{}, fmt.Errorf("reading recheck: a %q file, not a recheck", kind)
	}
	var c Rechecked
	if err := json.Unmarshal(data, &c); err != nil {
		return Rechecked{}, fmt.Errorf("reading recheck: %w", err)
	}
	return c, nil
}

// Fold adds rechecks to a report: the report one run with those runs
// would have made. A recheck of another source, pins or options is
// refused (numbered after the reports, from first), and so is a run the
// report already holds.
func Fold(r Report, rechecks []Rechecked, first int) (Report, error) {
	for i, c := range rechecks {
		as := Report{SchemaVersion: c.SchemaVersion, Source: c.Source, Options: c.Options}
		if err := compatible(r, as, first+i); err != nil {
			return Report{}, err
		}
		for _, cell := range c.Cells {
			if !slices.ContainsFunc(r.Cells, func(x Cell) bool { return x.Name == cell }) {
				return Report{}, fmt.Errorf("merge: recheck %d made runs in %s, which no report has", first+i, cell)
			}
		}
		var err error
		if r, err = AddReruns(r, c.Reruns); err != nil {
			return Report{}, fmt.Errorf("merge: recheck %d: %w", first+i, err)
		}
	}
	return r, nil
}

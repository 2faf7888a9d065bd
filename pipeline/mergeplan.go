package pipeline

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/parity-ci/parity/recheck"
	"github.com/parity-ci/parity/report"
)

// KindRecheckPlan marks the plan parity merge --plan writes.
const KindRecheckPlan = "recheck-plan"

// RecheckPlan is what a merge still needs made before its verdict is
// final: the cells with work (for a CI matrix: one recheck job per cell),
// each cell's share, and the merged report the shares are of (parity
// recheck --plan reads it from here). No cell with work: the merged
// report is final.
type RecheckPlan struct {
	SchemaVersion int            `json:"schemaVersion"`
	Kind          string         `json:"kind"`
	Cells         []string       `json:"cells"`
	Shares        recheck.Shares `json:"shares"`
	Report        report.Report  `json:"report"`
}

// PlanRecheck is the recheck plan of a merged report.
func PlanRecheck(merged report.Report) RecheckPlan {
	w := recheck.Work(merged)
	cells := w.Cells()
	if cells == nil {
		cells = []string{}
	}
	return RecheckPlan{SchemaVersion: report.SchemaVersion, Kind: KindRecheckPlan, Cells: cells, Shares: w, Report: merged}
}

// WriteJSON writes the plan as indented JSON.
func (p RecheckPlan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("writing recheck plan: %w", err)
	}
	return nil
}

// ReadRecheckPlan reads a plan parity merge --plan wrote.
func ReadRecheckPlan(data []byte) (RecheckPlan, error) {
	kind, err := report.Kind(data)
	if err != nil {
		return RecheckPlan{}, fmt.Errorf("reading recheck plan: %w", err)
	}
	if kind != KindRecheckPlan {
		return RecheckPlan{}, fmt.Errorf("reading recheck plan: not a plan (parity merge --plan FILE writes one)")
	}
	var p RecheckPlan
	if err := json.Unmarshal(data, &p); err != nil {
		return RecheckPlan{}, fmt.Errorf("reading recheck plan: %w", err)
	}
	if p.Report.SchemaVersion != report.SchemaVersion {
		return RecheckPlan{}, fmt.Errorf("reading recheck plan: its report has schema version %d, this Parity reads version %d", p.Report.SchemaVersion, report.SchemaVersion)
	}
	return p, nil
}

// Rechecked is what parity recheck writes of its runs: the runs, and the
// source and options of the plan they were made with.
func Rechecked(p Plan, m Meta, cells []string, recs []report.RerunOf) report.Rechecked {
	meta := reportMeta(p, m)
	if recs == nil {
		recs = []report.RerunOf{}
	}
	return report.Rechecked{
		SchemaVersion: report.SchemaVersion, Kind: report.KindRechecked, Tool: meta.Tool, CreatedAt: meta.CreatedAt,
		Source: meta.Source, Options: meta.Options, Cells: cells, Reruns: recs,
	}
}

package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
)

// FoldShards replaces the reports of shards (Report.Shard set: one of the
// package sets `parity plan --shards` split a cell into) by one report per
// set of cells sharded alike, each cell folded back into one: its rows are
// the union of its shards', its status the worst of theirs. Reports that
// are not shards pass through unchanged, in order, before the folded ones.
//
// A cell must have every shard 1..N of one split exactly once, and no
// package in two of its shards: each refusal is one line naming the cell.
// Options (Packages included: a shard keeps its cell's patterns and names
// its own packages in Shard) must agree as Merge requires; Merge checks
// them on the folded reports.
func FoldShards(reports []Report) ([]Report, error) {
	parts := map[matrix.Cell][]shardPart{}
	plain := map[matrix.Cell]int{} // cell -> report number, of reports that are not shards
	var out []Report
	for i, r := range reports {
		if r.Shard == nil {
			for _, c := range r.Cells {
				plain[c.Cell] = i + 1
			}
			out = append(out, r)
			continue
		}
		if r.Shard.Total < 1 || r.Shard.Index < 1 || r.Shard.Index > r.Shard.Total {
			return nil, fmt.Errorf("merge: report %d is shard %s: want I/N with 1 <= I <= N", i+1, r.Shard)
		}
		for _, c := range r.Cells {
			parts[c.Cell] = append(parts[c.Cell], shardPart{i, *r.Shard})
		}
	}
	// Cells sharded by the same reports fold into one report together.
	type group struct {
		reports []int
		cells   []matrix.Cell
	}
	var groups []*group
	cells := slices.Collect(maps.Keys(parts))
	matrix.Sort(cells)
	for _, c := range cells {
		ps := parts[c]
		if n, ok := plain[c]; ok {
			return nil, fmt.Errorf("merge: cell %s is in report %d and in shards of it (report %d): merge either the whole cell or its shards", c, n, ps[0].report+1)
		}
		if err := completeShards(c, ps); err != nil {
			return nil, err
		}
		slices.SortFunc(ps, func(a, b shardPart) int { return cmp.Compare(a.shard.Index, b.shard.Index) })
		var idx []int
		for _, p := range ps {
			idx = append(idx, p.report)
		}
		if i := slices.IndexFunc(groups, func(g *group) bool { return slices.Equal(g.reports, idx) }); i >= 0 {
			groups[i].cells = append(groups[i].cells, c)
			continue
		}
		groups = append(groups, &group{reports: idx, cells: []matrix.Cell{c}})
	}
	for _, g := range groups {
		var shards []Report
		for _, i := range g.reports {
			shards = append(shards, reports[i])
		}
		f, err := foldCells(shards, g.cells)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// shardPart is one report's shard of a cell.
type shardPart struct {
	report int // index in Merge's inputs
	shard  Shard
}

// completeShards checks that a cell has each shard 1..N of one split
// exactly once.
func completeShards(c matrix.Cell, parts []shardPart) error {
	total := parts[0].shard.Total
	at := map[int]int{} // shard index -> report number (1-based)
	for _, p := range parts {
		s := p.shard
		if s.Total != total {
			return fmt.Errorf("merge: cell %s has shards of two splits (%s in report %d, %s in report %d): merge the shards of one `parity plan --shards`", c, parts[0].shard, parts[0].report+1, s, p.report+1)
		}
		if prev, ok := at[s.Index]; ok {
			return fmt.Errorf("merge: cell %s has shard %s twice (reports %d and %d): keep one", c, s, prev, p.report+1)
		}
		at[s.Index] = p.report + 1
	}
	var missing []string
	for i := 1; i <= total; i++ {
		if _, ok := at[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, total))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("merge: cell %s lacks shard %s: merge every shard of the cell", c, strings.Join(missing, ", "))
	}
	return nil
}

// foldCells makes one report of the given cells out of their shards (in
// shard order): what one run of every shard's packages would have
// recorded. Merge recomputes rows' flags, divergences, counts and the
// verdict from it.
func foldCells(shards []Report, cells []matrix.Cell) (Report, error) {
	first := shards[0]
	f := Report{
		SchemaVersion: first.SchemaVersion, Tool: first.Tool, CreatedAt: first.CreatedAt,
		Source: first.Source, Options: first.Options,
	}
	names := map[string]bool{}
	for _, c := range cells {
		names[c.String()] = true
	}
	rows := map[rowKey]*TestRow{}
	from := map[rowKey]string{} // row -> shard, for a package in two shards
	var order []rowKey
	for _, s := range shards {
		if s.CreatedAt.After(f.CreatedAt) {
			f.CreatedAt = s.CreatedAt
		}
		o := origins(s)
		for i := range o {
			o[i].Shard = s.Shard
		}
		f.MergedFrom = append(f.MergedFrom, o...)
		for _, row := range s.Tests {
			key := rowKey{row.Package, row.Test}
			var keep []Result
			for _, res := range row.Results {
				if names[res.Cell] {
					keep = append(keep, res)
				}
			}
			if len(keep) == 0 {
				continue
			}
			if prev, ok := from[key]; ok && prev != s.Shard.String() {
				return Report{}, fmt.Errorf("merge: package %s is in shard %s and shard %s of cell %s: the shards of a cell must not share a package", row.Package, prev, s.Shard, keep[0].Cell)
			}
			from[key] = s.Shard.String()
			if rows[key] == nil {
				rows[key] = &TestRow{Package: row.Package, Test: row.Test}
				order = append(order, key)
			}
			// Each result keeps its re-run records: Merge decides again
			// from them, explanations included.
			rows[key].Results = append(rows[key].Results, keep...)
		}
		f.Compile = foldCompile(f.Compile, s.Compile, names)
	}
	for _, c := range cells {
		var parts []Cell
		var tags []string
		for _, s := range shards {
			for _, sc := range s.Cells {
				if sc.Cell == c {
					parts = append(parts, sc)
					tags = append(tags, s.Shard.String())
				}
			}
		}
		f.Cells = append(f.Cells, foldCell(parts, tags))
	}
	sortCells(f.Cells)
	for _, k := range order {
		f.Tests = append(f.Tests, *rows[k])
	}
	return f, nil
}

// foldCell makes one cell of its shards' runs. Its status is the worst:
// a shard that did not run to the end leaves the cell not compared, as a
// cell stopped midway is; its wall time is the longest shard's (shards
// run side by side), its CPU time their sum.
func foldCell(parts []Cell, tags []string) Cell {
	c := parts[0]
	c.Steps, c.Tampered, c.Output, c.Message = nil, nil, "", ""
	c.ShuffleSeeds = nil
	c.DurationSeconds, c.CPUSeconds = 0, 0
	var msgs, outs []string
	same := true // every shard says the same (a cell that cannot run)
	for i, p := range parts {
		tag := tags[i]
		if worse(p.Status, c.Status) {
			c.Status = p.Status
		}
		if !p.Started.IsZero() && (c.Started.IsZero() || p.Started.Before(c.Started)) {
			c.Started = p.Started
		}
		c.DurationSeconds = max(c.DurationSeconds, p.DurationSeconds)
		c.CPUSeconds += p.CPUSeconds
		c.Race = c.Race || p.Race
		c.StreamTruncated = c.StreamTruncated || p.StreamTruncated
		c.Tampered = append(c.Tampered, p.Tampered...)
		for _, st := range p.Steps {
			st.Shard = tag
			c.Steps = append(c.Steps, st)
		}
		for pkg, seed := range p.ShuffleSeeds {
			if c.ShuffleSeeds == nil {
				c.ShuffleSeeds = map[string]int64{}
			}
			c.ShuffleSeeds[pkg] = seed
		}
		if p.Message != "" {
			msgs = append(msgs, "shard "+tag+": "+p.Message)
			same = same && p.Message == parts[0].Message
		} else {
			same = false
		}
		if p.Output != "" {
			outs = append(outs, "[shard "+tag+"]\n"+p.Output)
		}
	}
	c.Message = strings.Join(msgs, "; ")
	if same {
		c.Message = parts[0].Message
	}
	c.Output = strings.Join(outs, "\n")
	return c
}

// worse orders statuses for a folded cell: any outcome that stopped a
// shard before its end beats failed, which beats passed.
func worse(a, b job.Status) bool {
	rank := func(s job.Status) int {
		switch s {
		case job.StatusPassed:
			return 0
		case job.StatusFailed:
			return 1
		}
		return 2
	}
	return rank(a) > rank(b)
}

// foldCompile adds a shard's --compile targets of the folded cells: the
// same target built by several shards is one target over all their
// packages.
func foldCompile(into, add []CompileTarget, cells map[string]bool) []CompileTarget {
	for _, t := range add {
		if !cells[t.Cell] {
			continue
		}
		i := slices.IndexFunc(into, func(u CompileTarget) bool { return u.Target == t.Target && u.Cell == t.Cell })
		if i < 0 {
			into = append(into, t)
			continue
		}
		u := &into[i]
		u.Packages += t.Packages
		u.Failures = append(u.Failures, t.Failures...)
		if !t.Built {
			u.Built = false
			u.Message = cmp.Or(u.Message, t.Message)
		}
	}
	return into
}

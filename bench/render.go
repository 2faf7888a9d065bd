package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/parity-ci/parity/matrix"
)

// The figures go between these markers in the -write file; the rest of the
// file (how to read them, other engineers' sections) is left alone.
const (
	beginMarker = "<!-- bench:begin: written by `go run ./bench -write`; edits between the markers are lost -->"
	endMarker   = "<!-- bench:end -->"
)

// render writes the figures as Markdown.
func (b *bench) render(results []result, noisy bool, noiseLine string) string {
	var sb strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&sb, "Measured %s on %s: %d cores, Docker Engine %s, command `%s` from the repository root; images built locally by internal/testimages.\n\n",
		b.started.UTC().Format("2006-01-02 15:04 MST"), host, goruntime.NumCPU(), b.dockerVersion, b.opt.command)
	if noisy {
		fmt.Fprintf(&sb, "**Noisy: the machine was busy** (%s). These figures only prove the bench runs end to end; re-run on a quiet machine before quoting them.\n\n", noiseLine)
	} else {
		fmt.Fprintf(&sb, "Quiet machine: %s.\n\n", noiseLine)
	}
	if len(b.shared) > 0 {
		fmt.Fprintf(&sb, "**Not every cold run was cold**: another run was using %d of the caches a cold run removes first (%s).\n\n", len(b.shared), strings.Join(b.shared, "; "))
	}
	for _, r := range results {
		renderSuite(&sb, r)
	}
	return sb.String()
}

func renderSuite(sb *strings.Builder, r result) {
	s := r.suite
	fmt.Fprintf(sb, "### Suite `%s`: %s, packages %s\n\n", s.name, orQuote(s.module, "testdata/fixture"), strings.Join(s.packages, " "))
	fmt.Fprintf(sb, "%s. %d tests and subtests per cell, with `-race`, on %d native cells (%s).\n\n", upper(s.about), r.tests, len(r.cells), cellNames(r.cells))
	fmt.Fprintf(sb, "| measure | value | goal |\n|---|---|---|\n")
	limit := max(r.longest, r.cpu/r.cores)
	fmt.Fprintf(sb, "| parallel efficiency: wall / max(longest cell alone, CPU-s / cores) | %.1fs / max(%.1fs, %.1f CPU-s / %.0f) = **%.2f** | <= 1.10 |\n",
		r.wall, r.longest, r.cpu, r.cores, r.wall/limit)
	fmt.Fprintf(sb, "| warm re-run (same machine, every test runs again: no result is replayed): wall / cold wall | %.1fs / %.1fs = **%.2f**, report identical: %v | <= 0.20 |\n",
		r.warmWall, r.wall, r.warmWall/r.wall, r.same)
	fmt.Fprintf(sb, "| orchestration overhead: %s via Parity / by hand (median of %d, cold) | %.1fs / %.1fs = **%.2f** | <= 1.10 |\n",
		r.cells[0], len(r.viaParity), median(r.viaParity), median(r.byHand), median(r.viaParity)/median(r.byHand))
	if e := r.emu; e != nil {
		fmt.Fprintf(sb, "| emulation cost: %s under qemu (race off by policy) / %s native with race (as the matrix runs both) | %.1fs / %.1fs = **%.1f** | none: informative |\n",
			e.emulated, e.native, e.emuTime, e.nativeRace, e.emuTime/e.nativeRace)
		fmt.Fprintf(sb, "| emulation cost, like for like: the same / %s native with race off | %.1fs / %.1fs = **%.1f** (CPU-s %.1f / %.1f) | none: informative |\n",
			e.native, e.emuTime, e.nativeNoRace, e.emuTime/e.nativeNoRace, e.emuCPU, e.nativeNoRaceCPU)
	}
	fmt.Fprintf(sb, "\n")
	renderNewMachine(sb, r)
	fmt.Fprintf(sb, "Cells alone (cold):\n\n")
	for _, c := range r.cells {
		fmt.Fprintf(sb, "- %s: %.1fs\n", c, r.alone[c.String()])
	}
	if e := r.emu; e != nil {
		fmt.Fprintf(sb, "- %s, race off: %.1fs\n- %s (qemu, race off): %.1fs", e.native, e.nativeNoRace, e.emulated, e.emuTime)
		if e.emuFailed > 0 {
			fmt.Fprintf(sb, ", %d failing tests (as expected there)", e.emuFailed)
		}
		fmt.Fprintf(sb, "\n")
	}
	fmt.Fprintf(sb, "\n")
}

// writeSection puts md between the markers of file, creating the file if
// it does not exist.
func writeSection(file, md string) error {
	section := beginMarker + "\n\n" + md + endMarker + "\n"
	old, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(file, []byte("# Benchmarks\n\n"+section), 0o644)
	} else if err != nil {
		return err
	}
	i := bytes.Index(old, []byte("<!-- bench:begin"))
	j := bytes.Index(old, []byte(endMarker))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no bench markers: put a line starting %q and a line %q where the figures go", file, "<!-- bench:begin", endMarker)
	}
	// The end marker's own newline is in section.
	rest := bytes.TrimPrefix(old[j+len(endMarker):], []byte("\n"))
	out := append(append(append([]byte{}, old[:i]...), section...), rest...)
	return os.WriteFile(file, out, 0o644)
}

func cellNames(cells []matrix.Cell) string {
	var s []string
	for _, c := range cells {
		s = append(s, c.String())
	}
	return strings.Join(s, ", ")
}

func orQuote(s, otherwise string) string {
	if s == "" {
		return "`" + otherwise + "`"
	}
	return "`" + s + "` (module proxy)"
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

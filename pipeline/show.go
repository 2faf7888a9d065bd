package pipeline

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/progress"
	"github.com/parity-ci/parity/runner"
	"github.com/parity-ci/parity/testjson"
)

// WritePlan prints what a run would do: per cell the image, the steps and
// every decision with its reason. Decisions shared by every cell are
// printed once, so what differs between cells stands out.
func WritePlan(w io.Writer, p Plan, rt policies.Traits) error {
	fmt.Fprintf(w, "module %s (go %s), pins: %s, runtime: %s (native %s)\n\n", p.Module, orDash(p.GoLine), p.Pins, rt.Name, rt.NativeArch)
	common := commonDecisions(p.Specs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// With several machines (--endpoint), the table says which runs each.
	placed := slices.ContainsFunc(p.Specs, func(s job.Spec) bool { return decisionOf(s, policies.IDEndpoint) != "" })
	where := func(s job.Spec) string {
		if !placed {
			return ""
		}
		return decisionOf(s, policies.IDEndpoint) + "\t"
	}
	if placed {
		fmt.Fprint(tw, "CELL\tIMAGE\tENDPOINT\tRUNS\tRACE\tSTEPS\n")
	} else {
		fmt.Fprintln(tw, "CELL\tIMAGE\tRUNS\tRACE\tSTEPS")
	}
	for _, s := range p.Specs {
		var steps []string
		for _, st := range s.Steps {
			steps = append(steps, string(st.Name))
		}
		race := "off"
		if s.Race {
			race = "on"
		}
		if s.NotRunnable != "" {
			steps = []string{"not runnable"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%s\n", s.Cell, s.Image, where(s), runsOn(s, rt.For(s.Platform)), race, strings.Join(steps, ", "))
	}
	tw.Flush()
	if len(common) > 0 {
		fmt.Fprintln(w, "\nevery cell:")
		for _, d := range common {
			fmt.Fprintf(w, "  %-18s %-16s %s\n", d.Policy, d.Effect, d.Reason)
		}
	}
	for _, s := range p.Specs {
		var own []job.Decision
		for _, d := range s.Decisions {
			if !slices.Contains(common, d) {
				own = append(own, d)
			}
		}
		if len(own) == 0 && s.NotRunnable == "" {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", s.Cell)
		if s.NotRunnable != "" {
			fmt.Fprintf(w, "  not runnable: %s\n", s.NotRunnable)
		}
		for _, d := range own {
			fmt.Fprintf(w, "  %-18s %-16s %s\n", d.Policy, d.Effect, d.Reason)
		}
	}
	return nil
}

// runsOn says how the host runs the cell: "native" or "qemu" (user-mode
// emulation), with the word size and byte order where they differ from
// the common amd64/arm64 case, so the table shows what each cell tests.
func runsOn(s job.Spec, rt policies.Traits) string {
	how := "native"
	if rt.NativeArch != "" && !s.Cell.Arch.RunsNativelyOn(rt.NativeArch) {
		how = "qemu"
	}
	var what []string
	if b := s.Cell.Arch.Bits(); b != 0 && b != 64 {
		what = append(what, fmt.Sprintf("%d-bit", b))
	}
	if s.Cell.Arch.BigEndian() {
		what = append(what, "big-endian")
	}
	if len(what) > 0 {
		how += " (" + strings.Join(what, ", ") + ")"
	}
	return how
}

// decisionOf is the effect of the spec's decision of policy id, or "".
func decisionOf(s job.Spec, id string) string {
	for _, d := range s.Decisions {
		if d.Policy == id {
			return d.Effect
		}
	}
	return ""
}

func commonDecisions(specs []job.Spec) []job.Decision {
	if len(specs) == 0 {
		return nil
	}
	var out []job.Decision
	for _, d := range specs[0].Decisions {
		shared := true
		for _, s := range specs[1:] {
			if !slices.Contains(s.Decisions, d) {
				shared = false
				break
			}
		}
		if shared && len(specs) > 1 {
			out = append(out, d)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ProgressEvent turns a runner event into what the progress printer shows,
// counting a finished cell's tests.
func ProgressEvent(e runner.Event) progress.Event {
	pe := progress.Event{Cell: e.Cell, Elapsed: e.Elapsed}
	switch e.Kind {
	case runner.EventStarted:
		pe.Kind = progress.Started
	case runner.EventStepStart:
		pe.Kind, pe.Step, pe.Status, pe.Elapsed = progress.Step, string(e.Step), progress.StepRunning, 0
	case runner.EventStepDone:
		pe.Kind, pe.Step, pe.Status, pe.Elapsed = progress.Step, string(e.Step), progress.StepDone, e.StepDuration
		if e.StepFailed {
			pe.Status = progress.StepFailed
		}
	case runner.EventTests:
		pe.Kind, pe.Step, pe.Tests, pe.Elapsed = progress.Tests, string(e.Step), e.Tests, 0
	case runner.EventDone:
		pe.Kind, pe.Status = progress.Done, string(e.Status)
		if e.Result == nil {
			break
		}
		run, _ := e.Result.TestRun()
		for _, t := range run.Tests {
			switch {
			case t.Outcome == testjson.Pass:
				pe.Pass++
			case t.Outcome == testjson.Skip:
				pe.Skip++
			case t.Outcome.Failed():
				pe.Fail++
			}
		}
	}
	return pe
}

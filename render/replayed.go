package render

import (
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/report"
)

// replayedNote says which cells' test step the runtime replayed from its
// own cache (Dagger caches a step by its inputs): those tests did not run
// this time, and their results are the earlier run's. "" when none was.
func replayedNote(r report.Report) string {
	var names []string
	for _, c := range r.Cells {
		for _, s := range c.Steps {
			if s.Name == job.StepTest && s.Cached {
				names = append(names, c.Name)
			}
		}
	}
	if names == nil {
		return ""
	}
	return "test step replayed from the engine's cache, not run this time (" + strings.Join(names, ", ") + "): the same source, image and options ran before, and these are that run's results (failed steps are never replayed)"
}

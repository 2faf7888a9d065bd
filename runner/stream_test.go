package runner

import (
	"context"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/testjson"
)

// streamCell streams the test step's stdout to the runner and keeps only a
// capped copy in the result, as the Docker runtime does.
type streamCell struct {
	fakeCell
	stdout string
}

func (c *streamCell) ExecStream(ctx context.Context, st job.Step, w io.Writer) job.StepResult {
	if st.Name != job.StepTest {
		return c.Exec(ctx, st)
	}
	for line := range strings.Lines(c.stdout) {
		io.WriteString(w, line)
	}
	return job.StepResult{Name: st.Name, ExitCode: 1, Stdout: "[capped]\n", Stderr: "# example.com/p\np.go:1: boom\n"}
}

type streamRuntime struct {
	fakeRuntime
	stdout string
}

func (f *streamRuntime) Start(ctx context.Context, s job.Spec) (Cell, error) {
	return &streamCell{fakeCell: fakeCell{f: &f.fakeRuntime, spec: s}, stdout: f.stdout}, nil
}

// TestTestStepIsParsedAsItStreams: the result's Run comes from the stream
// (the capped Stdout would lose the tests), stderr included, and the live
// count reaches the events.
func TestTestStepIsParsedAsItStreams(t *testing.T) {
	b, err := os.ReadFile("../testjson/testdata/go126-outcomes.json")
	if err != nil {
		t.Fatal(err)
	}
	stdout := string(b)
	rt := &streamRuntime{stdout: stdout}
	rt.answer = func(c matrix.Cell, st job.Step) job.StepResult {
		if st.Name == job.StepProbe {
			return job.StepResult{Stdout: probeOut(c)}
		}
		return job.StepResult{}
	}
	var mu sync.Mutex
	var counts []int
	res := Run(context.Background(), rt, specs(t, a), Options{OnEvent: func(e Event) {
		if e.Kind == EventTests {
			mu.Lock()
			counts = append(counts, e.Tests)
			mu.Unlock()
		}
	}})[0]
	if res.Status != job.StatusFailed || res.Run == nil {
		t.Fatalf("status %s (%s), run %v", res.Status, res.Message, res.Run)
	}
	if want := testjson.ParseOutput(stdout, "# example.com/p\np.go:1: boom\n"); len(want.Tests) < 3 || !reflect.DeepEqual(*res.Run, want) {
		t.Fatalf("run %+v\nwant %+v", res.Run, want)
	}
	if res.TestJSON != "[capped]\n" {
		t.Fatalf("TestJSON %q: the step's capped stdout", res.TestJSON)
	}
	if len(counts) == 0 || counts[0] != 1 {
		t.Fatalf("live counts %v: the first finished test is reported at once", counts)
	}
}

package main

import (
	"flag"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/parity-ci/parity/internal/modcheck"
	"github.com/parity-ci/parity/pipeline"
)

// TestFrontDoorsTakeTheSameOptions holds `parity test` and the Dagger
// module (constructor and test function) to one list of options: a name
// may differ, or exist in one door only, only where pipeline.FrontDoors
// says so and why.
func TestFrontDoorsTakeTheSameOptions(t *testing.T) {
	fs, _ := newRunFlags("test", io.Discard)
	var cli []string
	fs.VisitAll(func(f *flag.Flag) { cli = append(cli, f.Name) })

	src, err := os.ReadFile("../../ci/main.go")
	if err != nil {
		t.Fatal(err)
	}
	fns, err := modcheck.Functions("ci/main.go", src)
	if err != nil {
		t.Fatal(err)
	}
	var dagger []string
	for _, fn := range fns {
		if fn.Name == "New" || fn.Name == "Test" {
			dagger = append(dagger, fn.Args...)
		}
	}
	if len(dagger) == 0 {
		t.Fatal("no arguments read from ci/main.go")
	}

	used := map[pipeline.FrontDoor]bool{}
	for _, name := range cli {
		want := name
		if i := slices.IndexFunc(pipeline.FrontDoors, func(d pipeline.FrontDoor) bool { return d.CLI == name }); i >= 0 {
			used[pipeline.FrontDoors[i]] = true
			if want = pipeline.FrontDoors[i].Dagger; want == "" {
				continue
			}
		}
		if !slices.Contains(dagger, want) {
			t.Errorf("parity test --%s has no Dagger argument --%s: add it to ci/main.go, or say why in pipeline.FrontDoors", name, want)
		}
	}
	for _, name := range dagger {
		want := name
		if i := slices.IndexFunc(pipeline.FrontDoors, func(d pipeline.FrontDoor) bool { return d.Dagger == name }); i >= 0 {
			used[pipeline.FrontDoors[i]] = true
			if want = pipeline.FrontDoors[i].CLI; want == "" {
				continue
			}
		}
		if !slices.Contains(cli, want) {
			t.Errorf("the Dagger argument --%s has no flag --%s of parity test: add it, or say why in pipeline.FrontDoors", name, want)
		}
	}
	for _, d := range pipeline.FrontDoors {
		if !used[d] {
			t.Errorf("pipeline.FrontDoors lists %+v, which neither door has", d)
		}
	}

	// plan's own flags are arguments of the module's plan function.
	pfs, _ := newPlanFlags(io.Discard)
	var plan []string
	for _, fn := range fns {
		if fn.Name == "Plan" {
			plan = fn.Args
		}
	}
	pfs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(cli, f.Name) && !slices.Contains(plan, f.Name) {
			t.Errorf("parity plan --%s has no argument --%s of the Dagger plan function: add it to ci/main.go", f.Name, f.Name)
		}
	})
}

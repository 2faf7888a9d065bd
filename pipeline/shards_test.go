package pipeline

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/policies"
	"github.com/parity-ci/parity/report"
	"github.com/parity-ci/parity/testjson"
)

func goFile(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), Mode: 0o644} }

// shardSource is a module whose directories exercise what go test ./...
// selects for a cell.
func shardSource() fstest.MapFS {
	return fstest.MapFS{
		"go.mod":                       goFile("module example.com/m\n\ngo 1.26\n"),
		"root.go":                      goFile("package m\n"),
		"root_test.go":                 goFile("package m\n"),
		"a/a.go":                       goFile("package a\n"),
		"a/a_test.go":                  goFile("package a_test\n"),
		"a/deep/d_test.go":             goFile("package deep\n"), // tests only
		"notests/n.go":                 goFile("package notests\n"),
		"armonly/x_arm64.go":           goFile("package armonly\n"),
		"armonly/x_arm64_test.go":      goFile("package armonly\n"),
		"newgo/n.go":                   goFile("//go:build go1.27\n\npackage newgo\n"),
		"newgo/n_test.go":              goFile("//go:build go1.27\n\npackage newgo\n"),
		"tagged/t.go":                  goFile("//go:build integration\n\npackage tagged\n"),
		"cgoonly/c.go":                 goFile("package cgoonly\n\nimport \"C\"\n"),
		"testdata/x/x.go":              goFile("package x\n"),
		"vendor/v/v.go":                goFile("package v\n"),
		"_skip/s.go":                   goFile("package s\n"),
		".hidden/h.go":                 goFile("package h\n"),
		"nested/go.mod":                goFile("module example.com/nested\n"),
		"nested/n.go":                  goFile("package nested\n"),
		"windows/w_windows.go":         goFile("package windows\n"),
		"docs/README.md":               goFile("no Go here\n"),
		"a/ignored/ignore.go":          goFile("//go:build ignore\n\npackage main\n"),
		"cmd/tool/main.go":             goFile("package main\n"),
		"cmd/tool/main_test.go":        goFile("package main\n"),
		"cmd/tool/testdata/fixture.go": goFile("package fixture\n"),
	}
}

func dirs(pkgs []SourcePackage) string {
	var out []string
	for _, p := range pkgs {
		s := p.Pattern()
		if p.HasTests {
			s += "*"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestFindPackagesAsGoTestDoes(t *testing.T) {
	for _, c := range []struct {
		name     string
		patterns []string
		target   BuildTarget
		want     string // * marks packages with test files
	}{
		{"amd64", nil, BuildTarget{Arch: matrix.AMD64, Go: "1.26.8"},
			". * ./a* ./a/deep* ./cmd/tool* ./notests"},
		{"arm64 with cgo and a newer Go", []string{"./..."}, BuildTarget{Arch: matrix.ARM64, Go: "1.27.3", Cgo: true},
			". * ./a* ./a/deep* ./armonly* ./cgoonly ./cmd/tool* ./newgo* ./notests"},
		{"tags", []string{"./..."}, BuildTarget{Arch: matrix.AMD64, Go: "1.26.8", Tags: []string{"integration"}},
			". * ./a* ./a/deep* ./cmd/tool* ./notests ./tagged"},
		{"a subtree", []string{"./a/..."}, BuildTarget{Arch: matrix.AMD64, Go: "1.26.8"}, "./a* ./a/deep*"},
		{"one package and the root", []string{"./notests", "."}, BuildTarget{Arch: matrix.AMD64, Go: "1.26.8"}, ". * ./notests"},
	} {
		pkgs, err := FindPackages(shardSource(), c.patterns, c.target)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// The root package prints as ". *": "." then its test mark.
		got := strings.Replace(dirs(pkgs), ".*", ". *", 1)
		if got != c.want {
			t.Errorf("%s: packages %q, want %q", c.name, got, c.want)
		}
	}
}

func TestPatternRE(t *testing.T) {
	for _, c := range []struct {
		pattern, dir string
		match        bool
	}{
		{"./...", ".", true}, {"./...", "a/b", true},
		{".", ".", true}, {".", "a", false},
		{"./a/...", "a", true}, {"./a/...", "a/b/c", true}, {"./a/...", "ab", false},
		{"./a", "a", true}, {"./a", "a/b", false},
		{"./x/.../y", "x/q/y", true}, {"a/...", "a/b", true},
	} {
		if got := patternRE(c.pattern).MatchString(c.dir); got != c.match {
			t.Errorf("%s matches %s: %v, want %v", c.pattern, c.dir, got, c.match)
		}
	}
}

// shardPlan plans two cells of the shard source.
func shardPlan(t *testing.T) Plan {
	t.Helper()
	in := Inputs{GoMod: []byte("module example.com/m\n\ngo 1.26\n"), Matrix: matrix.Spec{Go: []string{"1.26.8"}, Libc: []matrix.Libc{matrix.Glibc}, Arch: []matrix.Arch{matrix.AMD64, matrix.ARM64}}}
	p, err := MakePlan(in, policies.Traits{Name: "docker", NativeArch: matrix.AMD64})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pkgRow(pkg string, results ...report.Result) report.TestRow {
	return report.TestRow{Package: pkg, Results: results}
}

func ran(cell string, s float64) report.Result {
	return report.Result{Cell: cell, Outcome: testjson.Pass, ElapsedSeconds: s}
}

func TestPlanShardsBalancesRecordedTimes(t *testing.T) {
	p := shardPlan(t)
	amd, arm := "go1.26.8/glibc/amd64", "go1.26.8/glibc/arm64"
	timings := &report.Report{Source: report.Source{Module: "example.com/m"}, Tests: []report.TestRow{
		pkgRow("example.com/m", ran(amd, 10), ran(arm, 80)),
		pkgRow("example.com/m/a", ran(amd, 6), ran(arm, 8)),
		pkgRow("example.com/m/a/deep", ran(amd, 5), ran(arm, 9)),
		// Replayed from go test's cache in amd64: its time there is not
		// known, arm64's (scaled or not) stands in.
		pkgRow("example.com/m/cmd/tool", report.Result{Cell: amd, Outcome: testjson.Pass, Cached: true}, ran(arm, 4)),
		// A test of a package row is not a package time.
		{Package: "example.com/m/a", Test: "TestX", Results: []report.Result{ran(amd, 99)}},
	}}
	src := shardSource()
	o := ShardOptions{N: 2, Timings: timings, Packages: func(bt BuildTarget) ([]SourcePackage, error) { return FindPackages(src, nil, bt) }}
	m, err := PlanShards(p, o)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ShardJob{}
	for _, j := range m.Include {
		got[j.Cell+" "+j.Shard] = j
	}
	want := map[string]struct {
		pkgs    string
		seconds float64
		est     bool
	}{
		// amd64: root 10, a 6, deep 5, tool 4 (arm64's), heaviest
		// first into the lighter shard: 10+4 | 6+5; no tests weigh 0.
		amd + " 1/2": {". ./cmd/tool", 14, false},
		amd + " 2/2": {"./a ./a/deep ./cgoonly ./notests", 11, false},
		// arm64: root 80 | the rest, armonly never recorded: the mean
		// of the recorded (80+8+9+4)/4.
		arm + " 1/2": {".", 80, false},
		arm + " 2/2": {"./a ./a/deep ./armonly ./cgoonly ./cmd/tool ./notests", 8 + 9 + 4 + 25.25, true},
	}
	if len(got) != len(want) {
		t.Fatalf("jobs %+v", m.Include)
	}
	for k, w := range want {
		j := got[k]
		if j.Packages != w.pkgs || j.Seconds != roundTenth(w.seconds) || j.Estimated != w.est {
			t.Errorf("%s: %q %.1f s estimated=%v; want %q %.1f s %v", k, j.Packages, j.Seconds, j.Estimated, w.pkgs, w.seconds, w.est)
		}
		if "go"+j.Go+"/"+j.Libc+"/"+j.Arch != j.Cell {
			t.Errorf("%s: selects %s/%s/%s", k, j.Go, j.Libc, j.Arch)
		}
	}
}

func TestPlanShardsWithoutTimingsSplitsByCount(t *testing.T) {
	p := shardPlan(t)
	src := shardSource()
	m, err := PlanShards(p, ShardOptions{N: 3, Packages: func(bt BuildTarget) ([]SourcePackage, error) { return FindPackages(src, nil, bt) }})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string][]int{}
	for _, j := range m.Include {
		counts[j.Cell] = append(counts[j.Cell], j.Tests)
		if j.Seconds != 0 || j.Estimated {
			t.Errorf("%s %s: %.1f s estimated=%v with no timings", j.Cell, j.Shard, j.Seconds, j.Estimated)
		}
	}
	// amd64: 4 test packages in 3 shards; arm64: 5.
	if got := counts["go1.26.8/glibc/amd64"]; len(got) != 3 || got[0]+got[1]+got[2] != 4 || max(got[0], got[1], got[2]) != 2 {
		t.Errorf("amd64 shard weights %v, want 3 shards of 4 test packages", got)
	}
	if got := counts["go1.26.8/glibc/arm64"]; len(got) != 3 || got[0]+got[1]+got[2] != 5 {
		t.Errorf("arm64 shard weights %v, want 3 shards of 5 test packages", got)
	}
	// More shards than test packages: no empty shard.
	m, err = PlanShards(p, ShardOptions{N: 10, Packages: func(bt BuildTarget) ([]SourcePackage, error) { return FindPackages(src, nil, bt) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range m.Include {
		if j.Packages == "" || (j.Cell == "go1.26.8/glibc/amd64" && !strings.HasSuffix(j.Shard, "/4")) {
			t.Errorf("shard %s %s: %q", j.Cell, j.Shard, j.Packages)
		}
	}
}

func TestSplitLPTIsWithinFourThirds(t *testing.T) {
	w := []float64{7, 7, 6, 6, 5, 5, 4, 4, 4}
	pkgs := make([]SourcePackage, len(w))
	for i := range pkgs {
		pkgs[i] = SourcePackage{Dir: string(rune('a' + i)), HasTests: true}
	}
	sets := splitLPT(pkgs, w, 3)
	var totals []float64
	for _, s := range sets {
		sum := 0.0
		for _, k := range s {
			sum += w[k]
		}
		totals = append(totals, sum)
	}
	// 48 in all: 16 each is the best; LPT gives 17/16/15 at worst here.
	if len(totals) != 3 || max(totals[0], totals[1], totals[2]) > 17 {
		t.Errorf("totals %v", totals)
	}
}

func TestPlanShardsRefuses(t *testing.T) {
	p := shardPlan(t)
	src := shardSource()
	find := func(bt BuildTarget) ([]SourcePackage, error) { return FindPackages(src, []string{"./none"}, bt) }
	for _, c := range []struct {
		o    ShardOptions
		want string
	}{
		{ShardOptions{N: 0, Packages: find}, "--shards 0: want 1 or more"},
		{ShardOptions{N: 2, Packages: find, Patterns: []string{"./none"}}, "--packages ./none selects no package that builds for it"},
		{ShardOptions{N: 2, Packages: find, Timings: &report.Report{Source: report.Source{Module: "example.com/other"}}}, "--timings: the report is of module example.com/other, not example.com/m"},
	} {
		if _, err := PlanShards(p, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}

func TestShardRequest(t *testing.T) {
	goMod := []byte("module example.com/m\n\ngo 1.26\n")
	in, err := Request{Packages: []string{"./..."}, Shard: "2/3", ShardPackages: []string{"./a ./b/c", "."}}.Inputs(goMod, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if in.Shard == nil || in.Shard.String() != "2/3" || strings.Join(in.Shard.Packages, " ") != "./a ./b/c ." {
		t.Fatalf("shard %+v", in.Shard)
	}
	p, err := MakePlan(in, policies.Traits{Name: "docker", NativeArch: matrix.AMD64})
	if err != nil {
		t.Fatal(err)
	}
	test := p.Specs[0].Steps[len(p.Specs[0].Steps)-1]
	if got := strings.Join(test.Args[len(test.Args)-3:], " "); got != "./a ./b/c ." {
		t.Errorf("go test gets %q, want the shard's packages", got)
	}
	if got := strings.Join(in.Policy.Packages, " "); got != "./..." {
		t.Errorf("the report's packages are %q, want the cells' whole patterns", got)
	}
	for _, c := range []struct {
		r    Request
		want string
	}{
		{Request{Shard: "2/3"}, "--shard 2/3 needs --shard-packages"},
		{Request{ShardPackages: []string{"./a"}}, "--shard-packages needs --shard I/N"},
		{Request{Shard: "4/3", ShardPackages: []string{"./a"}}, `--shard "4/3": want I/N`},
		{Request{Shard: "0/3", ShardPackages: []string{"./a"}}, `--shard "0/3": want I/N`},
		{Request{Shard: "x", ShardPackages: []string{"./a"}}, `--shard "x": want I/N`},
		{Request{Shard: "1/2", ShardPackages: []string{"-exec=x"}}, "--shard-packages"},
		{Request{Packages: []string{"./a/..."}, Shard: "1/2", ShardPackages: []string{"./b"}}, "--shard-packages ./b: not among --packages ./a/..."},
	} {
		if _, err := c.r.Inputs(goMod, nil, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.r, err, c.want)
		}
	}
}

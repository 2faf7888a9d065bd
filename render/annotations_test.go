package render

import (
	"strings"
	"testing"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
)

func annotationsOf(t *testing.T, r report.Report) string {
	t.Helper()
	var b strings.Builder
	if err := Annotations(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestAnnotationsFixture(t *testing.T) {
	got := annotationsOf(t, fixtureReport(t))
	// TestTable fails only through TestTable/bad: one annotation, on the subtest.
	want := `::error file=basic/basic_test.go,line=13,title=TestFail (all cells that ran it)::got 1, want 2
::error file=basic/basic_test.go,line=26,title=TestTable/bad (all cells that ran it)::case bad failed:%0Aline two of the message
::error file=platform/platform_test.go,line=10,title=TestFusedMultiplyAdd (go1.26.8/glibc/arm64)::0.1*10 + -1 = 5.551115123125783e-17, want 0
::error file=platform/platform_test.go,line=16,title=TestPrintfNullPointer (go1.26.8/musl/amd64)::printf("%25p", NULL) = "0", want "(nil)"
::error file=platform/platform_test.go,line=23,title=TestRunsBash (go1.26.8/musl/amd64)::bash -c 'echo ok': exec: "bash": executable file not found in $PATH
::error file=racy/racy_test.go,line=17,title=TestRacyCounter (go1.26.8/glibc/amd64)::WARNING: DATA RACE
::error file=racy/racy_test.go,line=22,title=TestRacyCounter (go1.26.8/glibc/amd64)::counter = 2000
`
	if got != want {
		t.Errorf("annotations:\n%s\nwant:\n%s", got, want)
	}
}

// Panics point at the frame in the package's test file, build failures at
// the compiler's position; paths are prefixed with the module's directory.
func TestAnnotationsPanicsAndBuildFailures(t *testing.T) {
	cells := []matrix.Cell{
		{Go: "1.26.8", Libc: matrix.Glibc, Arch: matrix.AMD64},
		{Go: "1.26.8", Libc: matrix.Musl, Arch: matrix.AMD64},
	}
	var results []job.Result
	for _, c := range cells {
		results = append(results, job.Result{Cell: c, Status: job.StatusFailed, TestJSON: readCapture(t, "go126-outcomes.json")})
	}
	r := report.Build(report.Meta{Source: report.Source{Module: "example.com/fx", Dir: "sub/dir"}}, report.Runs{Cells: results})
	got := annotationsOf(t, r)
	for _, want := range []string{
		"::error file=sub/dir/broken/broken_test.go,line=6,title=broken did not build (all cells that ran it)::cannot use Answer() (value of type int) as string value in variable declaration\n",
		"::error file=sub/dir/panics/panics_test.go,line=10,title=TestPanics (all cells that ran it)::panic: assignment to entry in nil map [recovered, repanicked]\n",
		"::error file=sub/dir/subpanic/subpanic_test.go,line=8,title=TestTable/explodes (all cells that ran it)::panic: planted panic in a subtest [recovered, repanicked]\n",
		"::error file=sub/dir/gopanic/gopanic_test.go,line=11,title=TestGoroutinePanics (all cells that ran it)::panic: planted panic in a goroutine\n",
		"::error file=sub/dir/basic/basic_test.go,line=13,title=TestFail (all cells that ran it)::got 1, want 2\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// os.Exit leaves no stack: the test's last log line is the place.
	if want := "::error file=sub/dir/exits/exits_test.go,line=10,title=TestExits (all cells that ran it)::about to exit\n"; !strings.Contains(got, want) {
		t.Errorf("missing %q in:\n%s", want, got)
	}
}

func TestAnnotationEscaping(t *testing.T) {
	if got, want := escapeData("50% done\r\nnext"), "50%25 done%0D%0Anext"; got != want {
		t.Errorf("escapeData = %q, want %q", got, want)
	}
	if got, want := escapeProperty("TestX (go1.26.8/musl/amd64, go1.25.9/glibc/arm64): 100%"), "TestX (go1.26.8/musl/amd64%2C go1.25.9/glibc/arm64)%3A 100%25"; got != want {
		t.Errorf("escapeProperty = %q, want %q", got, want)
	}
}

func TestPackageDir(t *testing.T) {
	r := report.Report{Source: report.Source{Module: "example.com/m", Dir: "ignored/here"}}
	for pkg, want := range map[string]string{
		"example.com/m":       "",
		"example.com/m/a/b":   "a/b",
		"example.com/mother":  "example.com/mother", // not inside the module
		"example.com/m/inner": "inner",
	} {
		if got := packageDir(r, pkg); got != want {
			t.Errorf("packageDir(%q) = %q, want %q", pkg, got, want)
		}
	}
}

package matrix

import (
	"slices"
	"strings"
	"testing"
)

func TestExpandDefaultsAndOrder(t *testing.T) {
	cells, err := Expand(Spec{}, []string{"1.26.8", "1.27.1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cells {
		got = append(got, c.String())
	}
	want := []string{
		"go1.27.1/glibc/amd64", "go1.27.1/glibc/arm64", "go1.27.1/musl/amd64", "go1.27.1/musl/arm64",
		"go1.26.8/glibc/amd64", "go1.26.8/glibc/arm64", "go1.26.8/musl/amd64", "go1.26.8/musl/arm64",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("cells:\n got %v\nwant %v", got, want)
	}
}

func TestExpandIncludeExcludeDedup(t *testing.T) {
	cells, err := Expand(Spec{
		Go:      []string{"1.27.1"},
		Libc:    []Libc{Musl},
		Arch:    []Arch{AMD64, ARM64},
		Include: []Cell{{Go: "1.26.8", Libc: Glibc, Arch: AMD64}, {Go: "1.27.1", Libc: Musl, Arch: AMD64}},
		Exclude: []Cell{{Libc: Musl, Arch: ARM64}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Cell{{"1.27.1", Musl, AMD64}, {"1.26.8", Glibc, AMD64}}
	if !slices.Equal(cells, want) {
		t.Fatalf("got %v want %v", cells, want)
	}
}

func TestExpandErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		spec Spec
		want string
	}{
		"all excluded":    {Spec{Go: []string{"1.27.1"}, Exclude: []Cell{{}}}, "the matrix is empty"},
		"bad go":          {Spec{Go: []string{"1.x"}}, `bad Go version "1.x"`},
		"partial include": {Spec{Go: []string{"1.27.1"}, Include: []Cell{{Go: "1.27.1"}}}, "every field must be set"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Expand(tc.spec, []string{"1.27.1"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseCellAndAxes(t *testing.T) {
	c, err := ParseCell("1.26.8/alpine/aarch64")
	if err != nil || c != (Cell{"1.26.8", Musl, ARM64}) {
		t.Fatalf("ParseCell = %v, %v", c, err)
	}
	c, err = ParseCell("go1.27.1-glibc-amd64")
	if err != nil || c != (Cell{"1.27.1", Glibc, AMD64}) {
		t.Fatalf("ParseCell key form = %v, %v", c, err)
	}
	if p, err := ParseCell("*/musl/*"); err != nil || p != (Cell{Libc: Musl}) {
		t.Fatalf("pattern = %v, %v", p, err)
	}
	for _, bad := range []string{"1.27.1/uclibc/amd64", "1.27.1/musl/mips64", "musl", "x/musl/amd64"} {
		if _, err := ParseCell(bad); err == nil {
			t.Errorf("ParseCell(%q) accepted", bad)
		}
	}
	if _, err := ParseLibc("bionic"); err == nil || !strings.Contains(err.Error(), "want glibc or musl") {
		t.Errorf("ParseLibc error = %v", err)
	}
	if _, err := ParseArch("mips64"); err == nil || !strings.Contains(err.Error(), "want amd64, arm64, 386, arm, s390x, ppc64le or riscv64") {
		t.Errorf("ParseArch error = %v", err)
	}
}

func TestFilter(t *testing.T) {
	cells, _ := Expand(Spec{}, []string{"1.27.1"})
	got := Filter(cells, []Cell{{Arch: AMD64}})
	if len(got) != 2 || got[0].Arch != AMD64 || got[1].Arch != AMD64 {
		t.Fatalf("Filter = %v", got)
	}
	if len(Filter(cells, nil)) != 4 {
		t.Fatal("no patterns must keep every cell")
	}
}

func TestCompareGo(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.26.8", "1.27.1", -1}, {"1.27.1", "1.27.1", 0}, {"1.27", "1.27.0", 0},
		{"1.27.10", "1.27.9", 1}, {"1.26", "1.26.8", -1}, {"go1.24", "1.23.12", 1},
	} {
		if got := CompareGo(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareGo(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/parity-ci/parity/job"
	"github.com/parity-ci/parity/matrix"
	"github.com/parity-ci/parity/report"
)

// SourcePackage is a package of the module under test, as go test would
// find it for one cell: its directory and whether it has test files.
type SourcePackage struct {
	Dir      string // slash-separated, relative to the module root ("." for it)
	HasTests bool
}

// Pattern is how --packages and --shard-packages name the package: "./dir",
// or "." for the module root.
func (p SourcePackage) Pattern() string {
	if p.Dir == "." {
		return "."
	}
	return "./" + p.Dir
}

// BuildTarget is what decides which files of a directory build for a cell.
type BuildTarget struct {
	Arch matrix.Arch
	Go   string // the cell's Go version: its release tags
	Cgo  bool
	Tags []string
}

// FindPackages lists the packages of the module rooted at fsys that the
// patterns (as --packages takes them: "./...", "./x/...", "./x") select
// for the target, as `go test PATTERNS` would, without the go command:
// directories under the root but vendor/, testdata, names starting with
// . or _ and nested modules, holding Go files the target builds
// (go/build decides, from build constraints and file names).
func FindPackages(fsys fs.FS, patterns []string, t BuildTarget) ([]SourcePackage, error) {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	var res []*regexp.Regexp
	for _, p := range patterns {
		res = append(res, patternRE(p))
	}
	ctx := buildContext(fsys, t)
	var out []SourcePackage
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if !d.IsDir() {
			return nil
		}
		if p != "." {
			base := path.Base(p)
			if base == "vendor" || base == "testdata" || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") {
				return fs.SkipDir
			}
			if _, err := fs.Stat(fsys, path.Join(p, "go.mod")); err == nil {
				return fs.SkipDir // another module: ./... stops there
			}
		}
		if !slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(p) }) {
			return nil
		}
		pkg, err := ctx.ImportDir(p, 0)
		var none *build.NoGoError
		switch {
		case errors.As(err, &none):
			return nil // nothing builds for this target here: ./... skips it
		case err != nil && pkg == nil:
			return fmt.Errorf("%s: %w", p, err)
		}
		// Other errors (two package names, a bad import comment) are the go
		// command's to report, in the cell, as ./... would.
		out = append(out, SourcePackage{Dir: p, HasTests: len(pkg.TestGoFiles)+len(pkg.XTestGoFiles) > 0})
		return nil
	})
	return out, err
}

// patternRE matches a directory (relative, "." for the root) against a
// package pattern relative to the module, as go's ... wildcard does:
// "./x/..." also matches "x" itself.
func patternRE(p string) *regexp.Regexp {
	p = strings.TrimPrefix(path.Clean(p), "./")
	if p == "." || p == "..." {
		if p == "..." {
			return regexp.MustCompile(`^.*$`)
		}
		return regexp.MustCompile(`^\.$`)
	}
	re := regexp.QuoteMeta(p)
	if strings.HasSuffix(re, `/\.\.\.`) {
		re = strings.TrimSuffix(re, `/\.\.\.`) + `(/.*)?`
	}
	return regexp.MustCompile("^" + strings.ReplaceAll(re, `\.\.\.`, `.*`) + "$")
}

// buildContext reads fsys as go/build reads a directory for the target.
func buildContext(fsys fs.FS, t BuildTarget) build.Context {
	ctx := build.Context{
		GOOS: "linux", GOARCH: string(t.Arch), CgoEnabled: t.Cgo, Compiler: "gc",
		BuildTags: t.Tags, ToolTags: build.Default.ToolTags,
		JoinPath:  path.Join,
		IsAbsPath: path.IsAbs,
		SplitPathList: func(string) []string {
			return nil
		},
		HasSubdir: func(string, string) (string, bool) { return "", false },
		IsDir: func(p string) bool {
			st, err := fs.Stat(fsys, p)
			return err == nil && st.IsDir()
		},
		ReadDir: func(p string) ([]fs.FileInfo, error) {
			entries, err := fs.ReadDir(fsys, p)
			if err != nil {
				return nil, err
			}
			var infos []fs.FileInfo
			for _, e := range entries {
				if info, err := e.Info(); err == nil {
					infos = append(infos, info)
				}
			}
			return infos, nil
		},
		OpenFile: func(p string) (io.ReadCloser, error) { return fsys.Open(p) },
	}
	// go1.1 ... go1.N of the cell's Go, as its go command sets them.
	if f := strings.Split(strings.TrimPrefix(t.Go, "go"), "."); len(f) >= 2 {
		minor, _ := strconv.Atoi(f[1])
		for i := 1; i <= minor; i++ {
			ctx.ReleaseTags = append(ctx.ReleaseTags, "go1."+strconv.Itoa(i))
		}
	}
	return ctx
}

// ShardMatrix is what `parity plan --shards N` prints: a GitHub Actions
// matrix (`strategy.matrix: ${{ fromJSON(...) }}`), one job per shard of
// each cell.
type ShardMatrix struct {
	Include []ShardJob `json:"include"`
}

// ShardJob is one shard of one cell. Go, Libc and Arch select the cell
// (--go, --libc, --arch); Shard and Packages are --shard and
// --shard-packages.
type ShardJob struct {
	Cell     string `json:"cell"`
	Go       string `json:"go"`
	Libc     string `json:"libc"`
	Arch     string `json:"arch"`
	Shard    string `json:"shard"`    // "I/N"
	Packages string `json:"packages"` // space-separated patterns, "./a ./b"
	// Count is its packages, Tests those with test files.
	Count int `json:"count"`
	Tests int `json:"tests"`
	// Seconds is the recorded test time of its packages in the --timings
	// report (absent without one: the split is then by number of test
	// packages). Estimated is set when some of its packages have no
	// recorded time: each counts as the mean of the recorded ones.
	Seconds   float64 `json:"seconds,omitempty"`
	Estimated bool    `json:"estimated,omitempty"`
}

// ShardOptions say how to split.
type ShardOptions struct {
	N        int            // shards per cell
	Patterns []string       // --packages
	Tags     []string       // --tags
	Timings  *report.Report // a previous report of the module, or nil
	Packages func(BuildTarget) ([]SourcePackage, error)
}

// PlanShards splits the packages of every runnable cell of p into at most
// o.N sets of nearly equal recorded test time, the longest first into the
// set with the least so far (the LPT rule: a set's time is then at most
// 4/3 of the best possible split's). Times are each package's own row in
// o.Timings: the cell's, else the mean over the report's cells (the
// proportions within a cell are what matter); a package never recorded
// counts as the mean of the recorded ones, and one without test files as
// nothing (it only builds). Without timings the split is by number of
// test packages. A cell gets fewer shards than N when it has fewer
// packages to give each one. Pure but for o.Packages.
func PlanShards(p Plan, o ShardOptions) (ShardMatrix, error) {
	if o.N < 1 {
		return ShardMatrix{}, fmt.Errorf("--shards %d: want 1 or more", o.N)
	}
	if o.Timings != nil && o.Timings.Source.Module != p.Module {
		return ShardMatrix{}, fmt.Errorf("--timings: the report is of module %s, not %s", o.Timings.Source.Module, p.Module)
	}
	m := ShardMatrix{Include: []ShardJob{}}
	for _, s := range p.Specs {
		if s.NotRunnable != "" {
			continue
		}
		pkgs, err := o.Packages(BuildTarget{Arch: s.Cell.Arch, Go: s.Cell.Go, Cgo: cgoOn(s), Tags: o.Tags})
		if err != nil {
			return ShardMatrix{}, fmt.Errorf("%s: %w", s.Cell, err)
		}
		if len(pkgs) == 0 {
			return ShardMatrix{}, fmt.Errorf("%s: --packages %s selects no package that builds for it", s.Cell, strings.Join(o.Patterns, " "))
		}
		weights, estimated := packageTimes(p.Module, s.Cell.String(), pkgs, o.Timings)
		sets := splitLPT(pkgs, weights, o.N)
		for i, set := range sets {
			job := ShardJob{
				Cell: s.Cell.String(), Go: s.Cell.Go, Libc: string(s.Cell.Libc), Arch: string(s.Cell.Arch),
				Shard: fmt.Sprintf("%d/%d", i+1, len(sets)), Count: len(set),
			}
			var names []string
			for _, k := range set {
				names = append(names, pkgs[k].Pattern())
				job.Seconds += weights[k]
				job.Estimated = job.Estimated || estimated[k]
				if pkgs[k].HasTests {
					job.Tests++
				}
			}
			job.Packages = strings.Join(names, " ")
			job.Seconds = roundTenth(job.Seconds)
			if o.Timings == nil {
				job.Seconds, job.Estimated = 0, false // weights were counts
			}
			m.Include = append(m.Include, job)
		}
	}
	if len(m.Include) == 0 {
		return m, errors.New("--shards: no cell of the matrix can run")
	}
	return m, nil
}

func cgoOn(s job.Spec) bool { return slices.Contains(s.Env, "CGO_ENABLED=1") }

func roundTenth(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// packageTimes weighs each package by its recorded test time in cell (see
// PlanShards); estimated marks the packages whose time is a guess.
func packageTimes(module, cell string, pkgs []SourcePackage, rep *report.Report) (w []float64, estimated []bool) {
	w, estimated = make([]float64, len(pkgs)), make([]bool, len(pkgs))
	known := map[string]float64{}
	if rep != nil {
		own, all := map[string]float64{}, map[string][]float64{}
		for _, row := range rep.Tests {
			if !row.IsPackage() {
				continue
			}
			for _, r := range row.Results {
				// A result go test replayed from its cache says nothing of
				// the package's time.
				if r.Cached || !r.Outcome.Ran() {
					continue
				}
				all[row.Package] = append(all[row.Package], r.ElapsedSeconds)
				if r.Cell == cell {
					own[row.Package] = r.ElapsedSeconds
				}
			}
		}
		for pkg, xs := range all {
			known[pkg] = mean(xs)
			if x, ok := own[pkg]; ok {
				known[pkg] = x
			}
		}
	}
	var recorded []float64
	for i, p := range pkgs {
		if x, ok := known[importPath(module, p.Dir)]; ok && p.HasTests {
			w[i] = x
			recorded = append(recorded, x)
		}
	}
	guess := 1.0 // no timings: every test package weighs the same
	if len(recorded) > 0 {
		guess = mean(recorded)
	}
	for i, p := range pkgs {
		_, ok := known[importPath(module, p.Dir)]
		switch {
		case !p.HasTests:
			w[i] = 0
		case !ok:
			w[i], estimated[i] = guess, true
		}
	}
	return w, estimated
}

func importPath(module, dir string) string {
	if dir == "." {
		return module
	}
	return module + "/" + dir
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// splitLPT splits packages (by index) into at most n sets: heaviest
// first, each into the lightest set so far (ties: the one with fewer
// packages, then the first), each set then sorted by directory. No set is
// left empty: n is cut to the number of packages with tests (at least 1).
func splitLPT(pkgs []SourcePackage, w []float64, n int) [][]int {
	tests := 0
	for _, p := range pkgs {
		if p.HasTests {
			tests++
		}
	}
	n = max(1, min(n, tests))
	order := make([]int, len(pkgs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(w[b], w[a]); c != 0 {
			return c
		}
		return cmp.Compare(pkgs[a].Dir, pkgs[b].Dir)
	})
	total := make([]float64, n)
	sets := make([][]int, n)
	for _, k := range order {
		best := 0
		for i := range sets {
			if total[i] < total[best] || (total[i] == total[best] && len(sets[i]) < len(sets[best])) {
				best = i
			}
		}
		sets[best] = append(sets[best], k)
		total[best] += w[k]
	}
	for _, set := range sets {
		slices.SortFunc(set, func(a, b int) int { return cmp.Compare(pkgs[a].Dir, pkgs[b].Dir) })
	}
	return sets
}

// shard reads --shard I/N and --shard-packages: both or neither; each
// package is one that --packages selects.
func (r Request) shard() (*report.Shard, error) {
	pkgs := SplitList(r.ShardPackages...)
	switch {
	case r.Shard == "" && len(pkgs) == 0:
		return nil, nil
	case r.Shard == "":
		return nil, errors.New("--shard-packages needs --shard I/N (parity plan --shards prints both)")
	case len(pkgs) == 0:
		return nil, fmt.Errorf("--shard %s needs --shard-packages, the shard's packages (parity plan --shards prints both)", r.Shard)
	}
	i, n, ok := strings.Cut(r.Shard, "/")
	s := report.Shard{Packages: pkgs}
	var err1, err2 error
	s.Index, err1 = strconv.Atoi(i)
	s.Total, err2 = strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || s.Index < 1 || s.Index > s.Total {
		return nil, fmt.Errorf("--shard %q: want I/N, such as 2/3 (1 <= I <= N)", r.Shard)
	}
	if err := checkPackages(pkgs); err != nil {
		return nil, fmt.Errorf("--shard-packages: %w", err)
	}
	patterns := SplitList(r.Packages...)
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	for _, p := range pkgs {
		if strings.Contains(p, "...") {
			continue // a pattern of its own: go test expands it
		}
		dir := strings.TrimPrefix(path.Clean(p), "./")
		if !slices.ContainsFunc(patterns, func(pat string) bool { return patternRE(pat).MatchString(dir) }) {
			return nil, fmt.Errorf("--shard-packages %s: not among --packages %s", p, strings.Join(patterns, " "))
		}
	}
	return &s, nil
}

// ShardBalance says, per cell, how the shards' recorded times compare:
// "go1.26.8/glibc/amd64: 3 shards of 41.2 s, 40.9 s, 40.1 s recorded: the
// longest is 2.7% above the shortest", or their test packages when the
// split had no timings.
func ShardBalance(m ShardMatrix, timed bool) []string {
	var out []string
	for i := 0; i < len(m.Include); {
		j := i
		var sizes []string
		var lo, hi float64 = -1, 0
		est := false
		for ; j < len(m.Include) && m.Include[j].Cell == m.Include[i].Cell; j++ {
			s := m.Include[j].Seconds
			sizes = append(sizes, fmt.Sprintf("%.1f s", s))
			if !timed {
				s = float64(m.Include[j].Tests)
				sizes[len(sizes)-1] = fmt.Sprint(m.Include[j].Tests)
			}
			if lo < 0 || s < lo {
				lo = s
			}
			hi = max(hi, s)
			est = est || m.Include[j].Estimated
		}
		line := fmt.Sprintf("%s: %d shards of %s recorded", m.Include[i].Cell, j-i, strings.Join(sizes, ", "))
		if !timed {
			line = fmt.Sprintf("%s: %d shards of %s test packages (no --timings: split by count)", m.Include[i].Cell, j-i, strings.Join(sizes, ", "))
		}
		if timed && lo > 0 {
			line += fmt.Sprintf(": the longest is %.1f%% above the shortest", (hi/lo-1)*100)
		}
		if est {
			line += " (packages without a recorded time count as the mean)"
		}
		out = append(out, line)
		i = j
	}
	return out
}

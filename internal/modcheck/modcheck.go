// Package modcheck checks, without a Dagger engine, the shape of a Go-SDK
// Dagger module laid out as dagger.json at a repository's root whose
// "source" directory is a nested Go module reaching the root module's
// packages through a replace directive. It catches the mistakes that make
// `dagger call` fail when the engine loads the module: a pragma the SDK does
// not apply, a root package missing from dagger.json's "include", a missing
// require or replace, a go line newer than the engine's Go, generated
// bindings committed, an argument that a global flag of `dagger call`
// shadows, a doc comment whose first line is not a whole sentence — and,
// in Codegen, what the engine's code generator does to the module's go.mod
// before it builds it.
package modcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// MaxGo is the Go of Dagger v0.21.8's Go SDK runtime: every go line must be
// at most this, or the engine refuses to build the module.
const MaxGo = "1.26.1"

// Config is dagger.json, the fields the checks read.
type Config struct {
	Name          string          `json:"name"`
	EngineVersion string          `json:"engineVersion"`
	SDK           json.RawMessage `json:"sdk"`
	Source        string          `json:"source"`
	Include       []string        `json:"include"`
}

// sdkSource reads "sdk" in either form: "go" or {"source": "go"}.
func (c Config) sdkSource() string {
	var s string
	if json.Unmarshal(c.SDK, &s) == nil {
		return s
	}
	var o struct {
		Source string `json:"source"`
	}
	json.Unmarshal(c.SDK, &o)
	return o.Source
}

// Options says what Check may ask outside the files.
type Options struct {
	// Deps lists the packages of the root module that the given root
	// packages import, themselves included (import paths). Nil means
	// `go list -deps` run in the root.
	Deps func(root string, pkgs []string) ([]string, error)
	// Tracked reports whether a path (relative to the root) is committed.
	// Nil means `git ls-files`; outside a git checkout nothing is.
	Tracked func(root, rel string) bool
}

// Check returns one line per problem of the module at root; none means the
// module has the shape the engine needs.
func Check(root string, opt Options) []string {
	if opt.Deps == nil {
		opt.Deps = goListDeps
	}
	if opt.Tracked == nil {
		opt.Tracked = gitTracked
	}
	var probs []string
	say := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	raw, err := os.ReadFile(filepath.Join(root, "dagger.json"))
	if err != nil {
		return []string{fmt.Sprintf("dagger.json: %v", err)}
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return []string{fmt.Sprintf("dagger.json: %v", err)}
	}
	if cfg.sdkSource() != "go" {
		say("dagger.json: sdk is %q, not go", cfg.sdkSource())
	}
	if cfg.EngineVersion == "" {
		say("dagger.json: no engineVersion")
	}
	src := cfg.Source
	if src == "" {
		src = "."
	}

	rootMod, err := readMod(filepath.Join(root, "go.mod"))
	if err != nil {
		return append(probs, err.Error())
	}
	if rootMod.Module == nil {
		return append(probs, "go.mod: no module line")
	}
	rootPath := rootMod.Module.Mod.Path
	probs = append(probs, goLine("go.mod", rootMod)...)

	srcModName := path.Join(src, "go.mod")
	srcMod, err := readMod(filepath.Join(root, src, "go.mod"))
	if err != nil {
		say("%s: the module's source dir must be its own Go module: %v", srcModName, err)
	} else {
		probs = append(probs, goLine(srcModName, srcMod)...)
		probs = append(probs, reachesRoot(srcModName, srcMod, rootPath)...)
	}

	for _, f := range []string{"go.mod", "go.sum"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil && !covered(f, cfg.Include) {
			say("dagger.json: include lacks %s", f)
		}
	}
	files, err := filepath.Glob(filepath.Join(root, src, "*.go"))
	if err != nil {
		return append(probs, err.Error())
	}
	var own []string // the module's own files, without the generated ones
	for _, f := range files {
		if filepath.Base(f) != "dagger.gen.go" {
			own = append(own, f)
		}
	}
	imports, err := rootImports(own, rootPath)
	if err != nil {
		say("%s: %v", src, err)
	}
	if len(imports) > 0 {
		deps, err := opt.Deps(root, imports)
		if err != nil {
			say("list the root packages %s imports: %v", src, err)
		}
		for _, p := range deps {
			if p != rootPath && !strings.HasPrefix(p, rootPath+"/") {
				continue
			}
			dir := strings.TrimPrefix(strings.TrimPrefix(p, rootPath), "/")
			if dir == "" {
				dir = "."
			}
			if !covered(dir, cfg.Include) {
				say("dagger.json: include lacks %s (package %s, imported by %s)", dir, p, src)
			}
		}
	}

	for _, f := range own {
		rel, _ := filepath.Rel(root, f)
		b, err := os.ReadFile(f)
		if err != nil {
			say("%s: %v", rel, err)
			continue
		}
		probs = append(probs, Pragmas(filepath.ToSlash(rel), b)...)
		probs = append(probs, Arguments(filepath.ToSlash(rel), b)...)
	}

	for _, g := range []string{path.Join(src, "dagger.gen.go"), path.Join(src, "internal", "dagger")} {
		if opt.Tracked(root, g) {
			say("%s is committed: generated bindings belong in .gitignore (the engine writes them at load)", g)
		}
	}
	return probs
}

func readMod(file string) (*modfile.File, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return modfile.Parse(file, b, nil)
}

// goLine refuses a go line newer than the engine's Go.
func goLine(name string, f *modfile.File) []string {
	if f.Go == nil {
		return nil
	}
	if semver.Compare("v"+f.Go.Version, "v"+MaxGo) > 0 {
		return []string{fmt.Sprintf("%s: go %s is newer than %s, the Go of Dagger's Go SDK runtime", name, f.Go.Version, MaxGo)}
	}
	return nil
}

// reachesRoot wants `require ROOT v...` and `replace ROOT => ../`: Dagger
// never reads a parent go.mod, so the nested module must name the root.
func reachesRoot(name string, f *modfile.File, rootPath string) []string {
	var probs []string
	if !slices.ContainsFunc(f.Require, func(r *modfile.Require) bool { return r.Mod.Path == rootPath }) {
		probs = append(probs, fmt.Sprintf("%s: does not require %s", name, rootPath))
	}
	if !slices.ContainsFunc(f.Replace, func(r *modfile.Replace) bool {
		return r.Old.Path == rootPath && r.New.Version == "" && path.Clean(r.New.Path) == ".."
	}) {
		probs = append(probs, fmt.Sprintf("%s: no 'replace %s => ../'", name, rootPath))
	}
	return probs
}

// covered reports whether dir (relative, slash-separated) is in an include
// entry: the entry itself or a directory above it.
func covered(dir string, include []string) bool {
	for _, inc := range include {
		inc = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(inc, "/"), "/**"), "/*")
		inc = strings.TrimPrefix(inc, "./")
		if inc == "." || inc == "" || dir == inc || strings.HasPrefix(dir, inc+"/") {
			return true
		}
	}
	return false
}

// rootImports lists the root module's packages the files import directly.
func rootImports(files []string, rootPath string) ([]string, error) {
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			return nil, err
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if p == rootPath || strings.HasPrefix(p, rootPath+"/") {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// pragma matches the SDK's comment directives.
var pragma = regexp.MustCompile(`//\s*\+(defaultPath|optional|default|ignore|cache|check|private|deprecated)\b`)

// Pragmas checks one Go file: each pragma must be on its own comment line,
// directly above its parameter (or function), with no blank line between.
// The SDK ignores a pragma after code on the same line, and one separated
// from its parameter by a blank line.
func Pragmas(name string, src []byte) []string {
	var probs []string
	pending := 0
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		isComment := strings.HasPrefix(line, "//")
		if pragma.MatchString(line) {
			if !isComment {
				probs = append(probs, fmt.Sprintf("%s:%d: pragma after code on the same line is ignored; put it on its own line above the parameter", name, n))
			}
			pending = n
			continue
		}
		switch {
		case pending > 0 && isComment:
		case pending > 0 && line == "":
			probs = append(probs, fmt.Sprintf("%s:%d: blank line between a pragma and its parameter", name, pending))
			pending = 0
		default:
			pending = 0
		}
	}
	return probs
}

// goListDeps asks the go command for the packages pkgs import, transitively.
func goListDeps(root string, pkgs []string) ([]string, error) {
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json=ImportPath,Standard"}, pkgs...)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var deps []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Standard   bool
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if !p.Standard {
			deps = append(deps, p.ImportPath)
		}
	}
	return deps, nil
}

// gitTracked reports whether git tracks rel (a file or anything under a
// directory) in root's checkout.
func gitTracked(root, rel string) bool {
	cmd := exec.Command("git", "ls-files", "--", rel)
	cmd.Dir = root
	out, err := cmd.Output()
	return err == nil && len(bytes.TrimSpace(out)) > 0
}

package modcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"unicode"
)

// GlobalFlags are the global flags of `dagger call` v0.21.8 (measured on a
// real CLI): they take precedence over a module's argument of the same
// name, so such an argument can never be given (`dagger call --lock=x plan`
// fails with `invalid lock mode "x"`).
var GlobalFlags = []string{
	"allow-llm", "auto-apply", "command", "debug", "eager-runtime",
	"interactive", "interactive-command", "lock", "mod", "model", "no-exit",
	"no-mod", "progress", "quiet", "silent", "verbose", "json", "output",
	"web", "x-release", "help",
}

// Function is a module function (or the constructor, "") and its
// arguments as the Dagger CLI spells them.
type Function struct {
	Name string   // the Go name: New, Test, ...
	Flag string   // as `dagger call` spells it: test, report, ...
	Doc  string   // the doc comment
	Args []string // --flag names, context excluded
}

// Functions reads a module's main package file: the constructor New and
// the exported methods (functions of the module).
func Functions(name string, src []byte) ([]Function, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var out []Function
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || !fd.Name.IsExported() {
			continue
		}
		if fd.Recv == nil && fd.Name.Name != "New" {
			continue
		}
		fn := Function{Name: fd.Name.Name, Flag: Kebab(fd.Name.Name), Doc: fd.Doc.Text()}
		if fd.Recv == nil {
			fn.Flag = ""
		}
		for _, p := range fd.Type.Params.List {
			if sel, ok := p.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Context" {
				continue
			}
			for _, n := range p.Names {
				fn.Args = append(fn.Args, Kebab(n.Name))
			}
		}
		out = append(out, fn)
	}
	return out, nil
}

// Kebab spells a Go identifier as the Dagger CLI does: goVersion ->
// go-version, CellCpus -> cell-cpus.
func Kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Arguments checks a module's functions as users meet them in the CLI: no
// argument may share a name with a global flag of `dagger call`, and each
// function's doc comment must open with one whole sentence on its first
// line (`dagger call --help` shows that line alone).
func Arguments(name string, src []byte) []string {
	fns, err := Functions(name, src)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", name, err)}
	}
	var probs []string
	for _, fn := range fns {
		where := fn.Flag
		if where == "" {
			where = "the constructor"
		}
		for _, a := range fn.Args {
			if slices.Contains(GlobalFlags, a) {
				probs = append(probs, fmt.Sprintf("%s: --%s of %s is a global flag of `dagger call`, which takes it first: rename the argument", name, a, where))
			}
		}
		if fn.Flag == "" {
			continue // the constructor's doc is not shown as a function
		}
		first, _, _ := strings.Cut(strings.TrimSpace(fn.Doc), "\n")
		switch {
		case first == "":
			probs = append(probs, fmt.Sprintf("%s: %s has no doc comment: `dagger call --help` shows its first line", name, fn.Name))
		case !strings.HasSuffix(first, "."):
			probs = append(probs, fmt.Sprintf("%s: %s's doc comment does not end its first sentence on its first line (%q): `dagger call --help` shows that line alone", name, fn.Name, first))
		}
	}
	return probs
}

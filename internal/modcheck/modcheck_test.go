package modcheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRepository is the check CI runs: this repository's Dagger module must
// load on a v0.21.8 engine.
func TestRepository(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Check(root, Options{}) {
		t.Error(p)
	}
}

const goodMain = `package main

import (
	"context"

	"example.com/root/lib"
)

type Ci struct{}

// Run the tests.
func (m *Ci) Test(
	ctx context.Context,
	// The module.
	// +defaultPath="/"
	// +ignore=[".git"]
	source *Directory,
	// +optional
	race string,
) (string, error) {
	return lib.Run(), nil
}
`

// fixture writes a module that passes every check; edit applies one
// breakage on top.
func fixture(t *testing.T, edit map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"dagger.json":        `{"name":"ci","engineVersion":"v0.21.8","sdk":{"source":"go"},"source":"ci","include":["go.mod","go.sum","lib","internal/"]}`,
		"go.mod":             "module example.com/root\n\ngo 1.26.1\n",
		"go.sum":             "",
		"lib/lib.go":         "package lib\n\nimport \"example.com/root/internal/deep\"\n\nfunc Run() string { return deep.X }\n",
		"internal/deep/x.go": "package deep\n\nconst X = \"x\"\n",
		"ci/go.mod":          "module dagger/ci\n\ngo 1.26.1\n\nrequire example.com/root v0.0.0\n\nreplace example.com/root => ../\n",
		"ci/main.go":         goodMain,
	}
	for k, v := range edit {
		files[k] = v
	}
	for name, content := range files {
		if content == "<delete>" {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func noGit(string, string) bool { return false }

func TestGoodFixture(t *testing.T) {
	if p := Check(fixture(t, nil), Options{Tracked: noGit}); len(p) > 0 {
		t.Fatalf("a well-formed module: %q", p)
	}
}

// Each case breaks the good fixture one way; the check must name it.
func TestBrokenFixtures(t *testing.T) {
	cases := []struct {
		name    string
		edit    map[string]string
		tracked []string
		want    string
	}{
		{"doc comment after code is no pragma", map[string]string{"ci/main.go": strings.Replace(goodMain, "ctx context.Context,\n\t// The module.", "ctx context.Context, // The module.", 1)},
			nil, ""},
		{"pragma on the previous parameter's line", map[string]string{"ci/main.go": strings.Replace(goodMain, "ctx context.Context,\n\t// The module.\n\t// +defaultPath=\"/\"", "ctx context.Context, // +defaultPath=\"/\"", 1)},
			nil, "main.go:13: pragma after code on the same line"},
		{"blank line under a pragma", map[string]string{"ci/main.go": strings.Replace(goodMain, "// +optional\n", "// +optional\n\n", 1)},
			nil, "main.go:18: blank line between a pragma and its parameter"},
		{"direct import not included", map[string]string{"dagger.json": `{"name":"ci","engineVersion":"v0.21.8","sdk":{"source":"go"},"source":"ci","include":["go.mod","go.sum","internal"]}`},
			nil, "include lacks lib (package example.com/root/lib"},
		{"transitive import not included", map[string]string{"dagger.json": `{"name":"ci","engineVersion":"v0.21.8","sdk":{"source":"go"},"source":"ci","include":["go.mod","go.sum","lib"]}`},
			nil, "include lacks internal/deep (package example.com/root/internal/deep"},
		{"go.sum not included", map[string]string{"dagger.json": `{"name":"ci","engineVersion":"v0.21.8","sdk":{"source":"go"},"source":"ci","include":["go.mod","lib","internal"]}`},
			nil, "include lacks go.sum"},
		{"no replace", map[string]string{"ci/go.mod": "module dagger/ci\n\ngo 1.26.1\n\nrequire example.com/root v0.0.0\n"},
			nil, "no 'replace example.com/root => ../'"},
		{"replace elsewhere", map[string]string{"ci/go.mod": "module dagger/ci\n\ngo 1.26.1\n\nrequire example.com/root v0.0.0\n\nreplace example.com/root => ../other\n"},
			nil, "no 'replace example.com/root => ../'"},
		{"no require", map[string]string{"ci/go.mod": "module dagger/ci\n\ngo 1.26.1\n\nreplace example.com/root => ../\n"},
			nil, "does not require example.com/root"},
		{"root go line too new", map[string]string{"go.mod": "module example.com/root\n\ngo 1.26.2\n"},
			nil, "go.mod: go 1.26.2 is newer than 1.26.1"},
		{"module go line too new", map[string]string{"ci/go.mod": "module dagger/ci\n\ngo 1.27\n\nrequire example.com/root v0.0.0\n\nreplace example.com/root => ../\n"},
			nil, "ci/go.mod: go 1.27 is newer than 1.26.1"},
		{"generated bindings committed", nil, []string{"ci/dagger.gen.go"}, "ci/dagger.gen.go is committed"},
		{"generated package committed", nil, []string{"ci/internal/dagger"}, "ci/internal/dagger is committed"},
		{"not a Go SDK module", map[string]string{"dagger.json": `{"name":"ci","engineVersion":"v0.21.8","sdk":"python","source":"ci","include":["go.mod","go.sum","lib","internal"]}`},
			nil, `sdk is "python"`},
		{"argument taken by a global flag of dagger call", map[string]string{"ci/main.go": strings.Replace(goodMain, "race string", "lock string", 1)},
			nil, "--lock of test is a global flag of `dagger call`"},
		{"first sentence cut at the first line", map[string]string{"ci/main.go": strings.Replace(goodMain, "// Run the tests.", "// Run the tests and print\n// the verdict.", 1)},
			nil, "Test's doc comment does not end its first sentence on its first line"},
		{"function without a doc comment", map[string]string{"ci/main.go": strings.Replace(goodMain, "// Run the tests.\n", "", 1)},
			nil, "Test has no doc comment"},
		{"no nested module", map[string]string{"ci/go.mod": "<delete>"}, nil, "ci/go.mod: the module's source dir must be its own Go module"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fixture(t, c.edit)
			probs := Check(dir, Options{Tracked: func(_, rel string) bool { return slices.Contains(c.tracked, rel) }})
			if c.want == "" {
				// A comment after code that is not a pragma is fine.
				if len(probs) > 0 {
					t.Fatalf("want no problem, got %q", probs)
				}
				return
			}
			if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, c.want) }) {
				t.Fatalf("want a problem containing %q, got %q", c.want, probs)
			}
		})
	}
}

func TestPragmaBetweenCommentsIsFine(t *testing.T) {
	src := "func (m *Ci) F(\n\t// +optional\n\t// Doc after the pragma.\n\tx string,\n) {}\n"
	if p := Pragmas("f.go", []byte(src)); len(p) > 0 {
		t.Fatal(p)
	}
}

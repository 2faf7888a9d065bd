package modcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// SDKVersion is the Dagger Go SDK the engine installs into the module
// (dagger.json's engineVersion).
const SDKVersion = "v0.21.8"

// Codegen reproduces what Dagger v0.21.8's Go code generator does to the
// module's go.mod when the engine loads it (cmd/codegen/generator/go,
// syncModReplaceAndTidy), in a scratch copy under work, then builds the
// module against stand-ins for the generated bindings. A module that fails
// here fails to load on an engine: the go.mod step is where the
// otel import cycle of 2026-12-02 came from, and no static check saw it.
//
// Each pass: the SDK go.mod's requires are minimum versions; each of the
// SDK go.mod's replaces whose module the module's go.mod requires is copied
// in (`go mod edit -replace`); then `go get dagger.io/dagger@SDKVersion` and
// `go mod tidy`. The engine runs the generator twice (the first pass writes
// the bindings, the second reads them), so tidy's indirect requires of the
// first pass decide the second pass's replaces: two passes here too.
//
// It returns the packages the built module depends on, for checks of the
// module's dependency graph.
func Codegen(ctx context.Context, root, work string) ([]string, error) {
	cfg, err := readConfig(root)
	if err != nil {
		return nil, err
	}
	src := filepath.Join(root, cfg.Source)
	dst := filepath.Join(work, "module")
	if err := os.MkdirAll(filepath.Join(dst, "internal", "dagger"), 0o755); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, f := range append(files, filepath.Join(src, "go.mod"), filepath.Join(src, "go.sum")) {
		if filepath.Base(f) == "dagger.gen.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) && filepath.Base(f) == "go.sum" {
			continue
		} else if err != nil {
			return nil, err
		}
		if filepath.Base(f) == "go.mod" {
			if b, err = absoluteReplaces(f, b, src); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := writeStandIns(dst); err != nil {
		return nil, err
	}

	sdkMod, sdkSum, err := sdkFiles(ctx, dst)
	if err != nil {
		return nil, err
	}
	// The generator appends the SDK's go.sum to the module's.
	sum, _ := os.ReadFile(filepath.Join(dst, "go.sum"))
	sum = append(append(sum, '\n'), sdkSum...)
	if err := os.WriteFile(filepath.Join(dst, "go.sum"), sum, 0o644); err != nil {
		return nil, err
	}
	for pass := 0; pass < 2; pass++ {
		if err := syncModReplaceAndTidy(ctx, dst, sdkMod); err != nil {
			return nil, err
		}
	}
	if out, err := goCmd(ctx, dst, "build", "-o", os.DevNull, "."); err != nil {
		return nil, fmt.Errorf("the module does not build after codegen's go.mod step: %s", out)
	}
	out, err := goCmd(ctx, dst, "list", "-deps", ".")
	if err != nil {
		return nil, fmt.Errorf("go list -deps: %s", out)
	}
	return strings.Fields(out), nil
}

// syncModReplaceAndTidy is one pass of the generator's go.mod step.
func syncModReplaceAndTidy(ctx context.Context, dir string, sdk *modfile.File) error {
	name := filepath.Join(dir, "go.mod")
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	mod, err := modfile.Parse(name, b, nil)
	if err != nil {
		return err
	}
	requires := map[string]string{}
	for _, r := range mod.Require {
		requires[r.Mod.Path] = r.Mod.Version
	}
	for _, r := range sdk.Require {
		if v, ok := requires[r.Mod.Path]; ok && semver.Compare(v, r.Mod.Version) >= 0 {
			continue
		}
		requires[r.Mod.Path] = r.Mod.Version
		mod.AddNewRequire(r.Mod.Path, r.Mod.Version, r.Indirect)
	}
	if b, err = mod.Format(); err != nil {
		return err
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	var steps [][]string
	for _, r := range sdk.Replace {
		if _, ok := requires[r.New.Path]; ok {
			steps = append(steps, []string{"mod", "edit", "-replace", r.Old.Path + "=" + r.New.Path + "@" + r.New.Version})
		}
	}
	steps = append(steps, []string{"get", "dagger.io/dagger@" + SDKVersion}, []string{"mod", "tidy"})
	for _, s := range steps {
		if out, err := goCmd(ctx, dir, s...); err != nil {
			return fmt.Errorf("go %s: %s", strings.Join(s, " "), out)
		}
	}
	return nil
}

// sdkFiles reads the Go SDK's own go.mod and go.sum from the module cache
// (downloading the SDK through the host's module proxy if needed).
func sdkFiles(ctx context.Context, dir string) (*modfile.File, []byte, error) {
	out, err := goCmd(ctx, dir, "mod", "download", "-json", "dagger.io/dagger@"+SDKVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("download the Dagger Go SDK: %s", out)
	}
	var m struct{ Dir, GoMod string }
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, nil, fmt.Errorf("go mod download -json: %w", err)
	}
	b, err := os.ReadFile(m.GoMod)
	if err != nil {
		return nil, nil, err
	}
	mod, err := modfile.Parse(m.GoMod, b, nil)
	if err != nil {
		return nil, nil, err
	}
	sum, err := os.ReadFile(filepath.Join(m.Dir, "go.sum"))
	if err != nil {
		return nil, nil, err
	}
	return mod, sum, nil
}

// absoluteReplaces points the module's local replaces (=> ../) at the real
// directories, since the copy lives elsewhere.
func absoluteReplaces(name string, b []byte, dir string) ([]byte, error) {
	mod, err := modfile.Parse(name, b, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range mod.Replace {
		if r.New.Version == "" && !filepath.IsAbs(r.New.Path) {
			if err := mod.AddReplace(r.Old.Path, r.Old.Version, filepath.Join(dir, r.New.Path), ""); err != nil {
				return nil, err
			}
		}
	}
	return mod.Format()
}

// writeStandIns writes what the engine generates at load, as aliases of the
// published SDK's types (the generated ones mirror them): enough to compile
// the module's own code.
func writeStandIns(dir string) error {
	files := map[string]string{
		"internal/dagger/dagger.go": `// Package dagger stands in for the bindings the engine generates.
package dagger

import pub "dagger.io/dagger"

type (
	Client      = pub.Client
	Directory   = pub.Directory
	DirectoryID = pub.DirectoryID
	File        = pub.File
	FileID      = pub.FileID
	Secret      = pub.Secret
	SecretID    = pub.SecretID
)
`,
		// The generated main imports Dagger's telemetry module, which the
		// SDK's go.mod does not pin: unless ci/go.mod does, tidy takes its
		// latest version, whose otel can meet the SDK's otel/log replace in
		// an import cycle (measured on an engine, 2026-12-07), so the
		// stand-in imports what the generated code does.
		"dagger.gen.go": `package main

import (
	"dagger/ci/internal/dagger"

	_ "github.com/dagger/otel-go"
	_ "go.opentelemetry.io/otel"
	_ "go.opentelemetry.io/otel/sdk/resource"
	_ "go.opentelemetry.io/otel/trace"
)

var dag *dagger.Client

func main() {}
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func readConfig(root string) (Config, error) {
	var cfg Config
	raw, err := os.ReadFile(filepath.Join(root, "dagger.json"))
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("dagger.json: %w", err)
	}
	if cfg.Source == "" {
		cfg.Source = "."
	}
	return cfg, nil
}

// goCmd runs the go command in dir as the engine's generator does: module
// mode on, no workspace, the local toolchain.
func goCmd(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

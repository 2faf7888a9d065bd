package testimages

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// goTools are the programs a Go distribution ships in pkg/tool/GOOS_GOARCH
// (Go 1.26: the others are built on demand by `go tool`), and goBins those
// in bin/.
var (
	goTools = []string{"asm", "cgo", "compile", "cover", "fix", "link", "preprofile", "vet"}
	goBins  = []string{"go", "gofmt"}
)

// crossToolchain makes, in the module proxy's zip layout, the Go
// distribution for linux/arch from the host's own GOROOT: its sources as
// they are, its programs (bin/ and pkg/tool/) cross-compiled by the host's
// go for linux/arch. It is the same release built another way, used where
// the module proxy refuses golang.org/toolchain for that platform (this
// project's proxy serves linux-amd64 and linux-arm64 only); the host's Go
// must be exactly version. It returns the zip's path, in dir.
func (b *builder) crossToolchain(ctx context.Context, version, arch, dir string) (string, error) {
	gobin, err := goTool()
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := b.run.runIn(ctx, b.workDir, append(toolEnv(), "GOFLAGS="), &out, gobin, "env", "GOVERSION", "GOROOT"); err != nil {
		return "", fmt.Errorf("reading the host's Go: %w", err)
	}
	f := strings.Fields(out.String())
	if len(f) != 2 {
		return "", fmt.Errorf("reading the host's Go: go env printed %q", out.String())
	}
	hostVersion, goroot := f[0], f[1]
	if hostVersion != "go"+version {
		return "", fmt.Errorf("the host's Go is %s, not go%s: cannot build go%s for linux/%s from it", hostVersion, version, version, arch)
	}
	bins := filepath.Join(dir, "bin")
	tools := filepath.Join(dir, "tool")
	env := append(toolEnv(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=-trimpath")
	for _, set := range []struct {
		out  string
		cmds []string
	}{{bins, goBins}, {tools, goTools}} {
		args := []string{"build", "-o", set.out + string(filepath.Separator)}
		for _, c := range set.cmds {
			args = append(args, "cmd/"+c)
		}
		if err := b.run.runIn(ctx, filepath.Join(goroot, "src"), env, nil, gobin, args...); err != nil {
			return "", fmt.Errorf("cross-building go%s for linux/%s: %w", version, arch, err)
		}
	}
	zipPath := filepath.Join(dir, fmt.Sprintf("go%s.linux-%s.zip", version, arch))
	if err := writeToolchainZip(zipPath, goroot, bins, tools, version, arch); err != nil {
		return "", err
	}
	return zipPath, nil
}

// toolEnv is the caller's environment without the settings that must not
// leak into a toolchain command (a test's -modfile, a workspace).
func toolEnv() []string {
	env := []string{"GOTOOLCHAIN=local", "GO111MODULE=on", "GOWORK=off"}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOTOOLCHAIN", "GO111MODULE", "GOWORK", "GOOS", "GOARCH", "CGO_ENABLED":
		default:
			env = append(env, kv)
		}
	}
	return env
}

// writeToolchainZip writes what `go mod download golang.org/toolchain`
// would give for linux/arch: every regular file of goroot but its
// programs (bin/, pkg/tool/, pkg/obj/), then the programs in bins and
// tools, under "golang.org/toolchain@v0.0.1-go<version>.linux-<arch>/",
// each go.mod named _go.mod as module zips have it (writeGoLayer names
// them back). Stored, not compressed: the zip is read once, locally.
func writeToolchainZip(zipPath, goroot, bins, tools, version, arch string) error {
	f, err := os.Create(zipPath)
	if err != nil {
		return fmt.Errorf("creating toolchain zip: %w", err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	prefix := fmt.Sprintf("golang.org/toolchain@v0.0.1-go%s.linux-%s/", version, arch)
	add := func(src, rel string, info fs.FileInfo) error {
		if path.Base(rel) == "go.mod" {
			rel = path.Join(path.Dir(rel), "_go.mod")
		}
		hdr := &zip.FileHeader{Name: prefix + rel, Method: zip.Store, Modified: info.ModTime()}
		hdr.SetMode(info.Mode())
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		r, err := os.Open(src)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(w, r)
		return err
	}
	err = filepath.WalkDir(goroot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(goroot, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && (rel == "bin" || rel == "pkg/tool" || rel == "pkg/obj" || rel == ".git"):
			return filepath.SkipDir
		case !d.Type().IsRegular():
			return nil // directories are made from the paths; no symlinks in a module zip
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return add(p, rel, info)
	})
	for _, set := range []struct{ dir, into string }{{bins, "bin"}, {tools, "pkg/tool/linux_" + arch}} {
		if err != nil {
			break
		}
		var entries []os.DirEntry
		if entries, err = os.ReadDir(set.dir); err != nil {
			break
		}
		for _, e := range entries {
			var info fs.FileInfo
			if info, err = e.Info(); err != nil {
				break
			}
			if err = add(filepath.Join(set.dir, e.Name()), set.into+"/"+e.Name(), info); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return fmt.Errorf("writing toolchain zip %s: %w", zipPath, err)
	}
	return f.Close()
}

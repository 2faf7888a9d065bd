// Command testimages builds Parity's test images (see package
// internal/testimages), pushes them to a loopback registry and prints their
// references as JSON on stdout. Progress goes to stderr.
//
//	go run ./internal/testimages/cmd/testimages -arch amd64,arm64,386,s390x   # warm the cache
//	go run ./internal/testimages/cmd/testimages -serve              # keep serving until interrupted
//
// Without -serve the registry stops when the command exits, so the printed
// references are only good for that run; the point is then the warm cache
// (and its blob directory), which makes the next Build in any process fast.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/parity-ci/parity/internal/testimages"
)

func main() {
	arch := flag.String("arch", "amd64", "comma-separated arches of the glibc image: "+strings.Join(testimages.Arches, ", ")+" (arm64 and s390x build under qemu: minutes each, once; the layers are cached)")
	goVersions := flag.String("go", testimages.DefaultGoVersion, "comma-separated Go versions")
	cacheDir := flag.String("cache", testimages.DefaultCacheDir(), "layer cache directory")
	blobDir := flag.String("blobs", "", "registry blob directory (default: <cache>/blobs, where cached layers are hard-linked instead of uploaded)")
	serve := flag.Bool("serve", false, "keep the registry serving until interrupted")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("testimages: unexpected arguments %q", flag.Args())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *blobDir == "" {
		*blobDir = filepath.Join(*cacheDir, "blobs")
	}
	if err := run(ctx, split(*arch), split(*goVersions), *cacheDir, *blobDir, *serve); err != nil {
		log.Fatal(err)
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run(ctx context.Context, arches, goVersions []string, cacheDir, blobDir string, serve bool) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	start := time.Now()
	reg, err := testimages.StartRegistry(ctx, blobDir)
	if err != nil {
		return err
	}
	defer reg.Close()
	images, err := testimages.Build(ctx, reg, testimages.Options{
		CacheDir:   cacheDir,
		Arches:     arches,
		GoVersions: goVersions,
		Logf:       logf,
	})
	if err != nil {
		return err
	}
	logf("testimages: done in %.1fs", time.Since(start).Seconds())

	out := struct {
		Registry string             `json:"registry"`
		Images   []testimages.Image `json:"images"`
	}{reg.Addr(), images}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("testimages: writing JSON: %w", err)
	}
	if serve {
		logf("testimages: serving on %s until interrupted", reg.Addr())
		<-ctx.Done()
	}
	return reg.Close()
}

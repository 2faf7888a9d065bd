package testimages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is an OCI distribution registry (go-containerregistry's
// pkg/registry) listening on 127.0.0.1 at a free port. Blobs are stored on
// disk in a directory the caller chooses, so a persistent directory lets a
// later process skip uploading blobs it already has; manifests and tags live
// in memory and are gone when the Registry is closed.
type Registry struct {
	addr    string
	blobDir string
	srv     *http.Server
	stopped chan struct{} // closed when Serve has returned
	served  error         // Serve's result, valid once stopped is closed

	closeOnce sync.Once
	closeErr  error
}

// StartRegistry starts a registry on 127.0.0.1:<free port> storing blobs in
// blobDir (created if missing; "" means DefaultCacheDir()/blobs). It serves
// until Close is called or ctx is done.
func StartRegistry(ctx context.Context, blobDir string) (*Registry, error) {
	if blobDir == "" {
		blobDir = filepath.Join(DefaultCacheDir(), "blobs")
	}
	abs, err := filepath.Abs(blobDir)
	if err != nil {
		return nil, fmt.Errorf("testimages: registry blob dir %q: %w", blobDir, err)
	}
	// The disk handler creates its upload temp files directly in the
	// directory, so it must exist before the first push.
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("testimages: creating registry blob dir: %w", err)
	}
	// Loopback only: the registry has no authentication and must not be
	// reachable from anywhere else.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testimages: listening for the registry on 127.0.0.1: %w", err)
	}
	handler := registry.New(
		registry.WithBlobHandler(registry.NewDiskBlobHandler(abs)),
		// The registry logs every request by default; that would drown
		// test output.
		registry.Logger(log.New(io.Discard, "", 0)),
	)
	r := &Registry{
		addr:    ln.Addr().String(),
		blobDir: abs,
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 30 * time.Second,
		},
		stopped: make(chan struct{}),
	}
	go func() {
		r.served = r.srv.Serve(ln)
		close(r.stopped)
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = r.Close() // nobody to report to; a later Close returns the same error
		case <-r.stopped:
		}
	}()
	return r, nil
}

// Addr returns "127.0.0.1:PORT", the registry host to put in image refs.
func (r *Registry) Addr() string { return r.addr }

// BlobDir returns the absolute directory holding the registry's blobs.
func (r *Registry) BlobDir() string { return r.blobDir }

// Close stops the registry. Blobs stay on disk; manifests are lost.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		// Not Shutdown: it waits up to 5 s for connections a client opened
		// and never used, which go-containerregistry's pushes leave behind,
		// and a test registry has nothing in flight worth waiting for.
		if err := r.srv.Close(); err != nil {
			r.closeErr = fmt.Errorf("testimages: stopping registry %s: %w", r.addr, err)
			return
		}
		<-r.stopped
		if r.served != nil && !errors.Is(r.served, http.ErrServerClosed) {
			r.closeErr = fmt.Errorf("testimages: registry %s: %w", r.addr, r.served)
		}
	})
	return r.closeErr
}

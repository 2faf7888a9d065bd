// Package ranges serves a blob over HTTP with byte ranges
// (http.ServeContent), so that a client can fetch many scattered pieces
// of it in one request.
package ranges

import (
	"bytes"
	"net/http"
	"time"
)

// Handler serves blob under name.
func Handler(name string, modtime time.Time, blob []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, name, modtime, bytes.NewReader(blob))
	})
}

package ranges

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A client that needs 250 scattered bytes asks for them in one request.
// Go 1.26.8 answers 206 with 250 parts. Go 1.27.3's net/http ignores a
// Range header of more than 200 ranges and sends the whole blob with 200:
// GODEBUG httpservecontentmaxranges, whose table entry says its default
// changed in Go 1.26, so a module on the go 1.26 line gets the limit.
func TestManyRangesInOneRequest(t *testing.T) {
	blob := bytes.Repeat([]byte("0123456789"), 1000)
	var want []string
	for i := range 250 {
		want = append(want, fmt.Sprintf("%d-%d", i*40, i*40))
	}
	req := httptest.NewRequest("GET", "/blob", nil)
	req.Header.Set("Range", "bytes="+strings.Join(want, ","))
	w := httptest.NewRecorder()
	Handler("blob", time.Time{}, blob).ServeHTTP(w, req)
	if w.Code != http.StatusPartialContent {
		t.Fatalf("%d ranges in one request: status %d with %d bytes, want %d with %d parts", len(want), w.Code, w.Body.Len(), http.StatusPartialContent, len(want))
	}
	_, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	parts := multipart.NewReader(w.Body, params["boundary"])
	n := 0
	for {
		p, err := parts.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Header.Get("Content-Range"); got != "bytes "+want[n]+"/10000" {
			t.Errorf("part %d: Content-Range %q, want bytes %s/10000", n, got, want[n])
		}
		n++
	}
	if n != len(want) {
		t.Errorf("%d parts, want %d", n, len(want))
	}
}

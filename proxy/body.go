package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
)

// spillAbove is the body size above which a request body is kept in an
// unlinked temporary file instead of memory.
const spillAbove = 1 << 20

// errBodyTooLarge is returned by readBody for a body over the limit.
var errBodyTooLarge = errors.New("request body too large")

// body is a request body read in full before the first send, so that every
// retry and replay can resend the exact same bytes. Small bodies live in
// memory; larger ones in a temporary file that is unlinked as soon as it is
// created (nothing is left behind, even on a crash) and closed by Close.
type body struct {
	mem  []byte
	file *os.File
	n    int64
}

// readBody reads r fully. It fails with errBodyTooLarge when r holds more
// than limit bytes, having read at most limit+1 of them.
func readBody(r io.Reader, limit int64, spillDir string) (*body, error) {
	if r == nil || r == http.NoBody {
		return &body{}, nil
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, min(limit, spillAbove)+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if n > limit {
		return nil, errBodyTooLarge
	}
	if n <= spillAbove {
		return &body{mem: buf.Bytes(), n: n}, nil
	}
	f, err := os.CreateTemp(spillDir, "notion-proxy-body-*")
	if err != nil {
		return nil, fmt.Errorf("spill request body: %w", err)
	}
	_ = os.Remove(f.Name())
	b := &body{file: f}
	if _, err := f.Write(buf.Bytes()); err != nil {
		b.Close()
		return nil, fmt.Errorf("spill request body: %w", err)
	}
	rest, err := io.Copy(f, io.LimitReader(r, limit-n+1))
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("read request body: %w", err)
	}
	b.n = n + rest
	if b.n > limit {
		b.Close()
		return nil, errBodyTooLarge
	}
	return b, nil
}

// Len is the body's size in bytes.
func (b *body) Len() int64 { return b.n }

// NewReader returns an independent reader of the whole body.
func (b *body) NewReader() io.ReadCloser {
	if b.file != nil {
		return io.NopCloser(io.NewSectionReader(b.file, 0, b.n))
	}
	if b.n == 0 {
		return http.NoBody
	}
	return io.NopCloser(bytes.NewReader(b.mem))
}

// Close releases the body's temporary file, if any.
func (b *body) Close() error {
	if b.file == nil {
		return nil
	}
	return b.file.Close()
}

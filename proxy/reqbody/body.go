// Package reqbody holds a request's body read in full before its first
// send, so that every retry and replay resends the same bytes: in memory
// up to 1 MiB, beyond that in an unlinked temporary file
// (docs/design.md#a-calls-path).
package reqbody

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

// ErrTooLarge is returned by Read and ReadSized for a body over the limit.
var ErrTooLarge = errors.New("request body too large")

// Body is a request body read in full before the first send, so that every
// retry and replay can resend the exact same bytes. Small bodies live in
// memory; larger ones in a temporary file that is unlinked as soon as it is
// created (nothing is left behind, even on a crash) and closed by Close.
type Body struct {
	mem  []byte
	file *os.File
	n    int64
}

// Read reads r fully. It fails with ErrTooLarge when r holds more
// than limit bytes, having read at most limit+1 of them.
func Read(r io.Reader, limit int64, spillDir string) (*Body, error) {
	return ReadSized(r, -1, limit, spillDir)
}

// firstBufferMax bounds the buffer allocated for a body before any of it
// arrived, whatever size it announces: memory follows the bytes received.
const firstBufferMax = 64 << 10

// ReadSized is Read for a body that announced its size (its
// Content-Length; -1 if unknown). The announcement only sizes the buffers:
// a body kept in memory takes what it holds (plus a byte), not a
// doubling buffer's slack, and a body announced above spillAbove goes
// straight to its file, never through a 1 MiB buffer of garbage. What is
// read decides the outcome.
func ReadSized(r io.Reader, size, limit int64, spillDir string) (*Body, error) {
	if r == nil || r == http.NoBody {
		return &Body{}, nil
	}
	if size > spillAbove && limit > spillAbove {
		return spillBody(r, nil, limit, spillDir)
	}
	memMax := min(limit, spillAbove) // the most bytes a body may keep in memory
	first := int64(512)
	if size >= 0 {
		// One byte over the size, so that the read that meets the end
		// finds room and no second buffer is needed.
		first = min(size+1, firstBufferMax)
	}
	// Never room for more than memMax+1 bytes: enough to tell a body
	// over the limit, or one to spill.
	buf := make([]byte, 0, min(first, memMax+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > memMax {
				return spillBody(r, buf, limit, spillDir)
			}
			next := min(2*cap(buf), int(memMax)+1)
			if size >= 0 && int64(len(buf)) <= size {
				next = min(next, int(size)+1)
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, ErrTooLarge
			}
			return &Body{mem: buf, n: int64(len(buf))}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
	}
}

// spillBody keeps head, and the rest of r, in an unlinked temporary file.
// It fails with ErrTooLarge when head and r hold more than limit bytes
// together, having read at most limit+1 of them.
func spillBody(r io.Reader, head []byte, limit int64, spillDir string) (*Body, error) {
	if int64(len(head)) > limit {
		return nil, ErrTooLarge
	}
	f, err := os.CreateTemp(spillDir, "notion-proxy-body-*")
	if err != nil {
		return nil, fmt.Errorf("spill request body: %w", err)
	}
	_ = os.Remove(f.Name())
	b := &Body{file: f}
	if _, err := f.Write(head); err != nil {
		b.Close()
		return nil, fmt.Errorf("spill request body: %w", err)
	}
	rest, err := io.Copy(f, io.LimitReader(r, limit-int64(len(head))+1))
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("read request body: %w", err)
	}
	b.n = int64(len(head)) + rest
	if b.n > limit {
		b.Close()
		return nil, ErrTooLarge
	}
	return b, nil
}

// Len is the body's size in bytes.
func (b *Body) Len() int64 { return b.n }

// NewReader returns an independent reader of the whole body.
func (b *Body) NewReader() io.ReadCloser {
	if b.file != nil {
		return io.NopCloser(io.NewSectionReader(b.file, 0, b.n))
	}
	if b.n == 0 {
		return http.NoBody
	}
	return io.NopCloser(bytes.NewReader(b.mem))
}

// Close releases the body's temporary file, if any.
func (b *Body) Close() error {
	if b.file == nil {
		return nil
	}
	return b.file.Close()
}

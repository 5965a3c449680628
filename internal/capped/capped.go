// Package capped is a writer that keeps only the first bytes written to
// it: for a child process's output (a token_command, a notify command),
// which the proxy reads but must not let grow without bound.
package capped

import "bytes"

// Writer keeps the first max bytes written to it and discards the rest.
// Write always reports all of p written, so the child is never told to
// stop.
type Writer struct {
	buf bytes.Buffer
	max int
}

// New returns a Writer keeping at most max bytes.
func New(max int) *Writer { return &Writer{max: max} }

// Write keeps what fits of p.
func (w *Writer) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// String returns the bytes kept.
func (w *Writer) String() string { return w.buf.String() }

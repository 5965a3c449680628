package proxy

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/proxy/config"
)

// NewLogger returns the logger for cfg writing to w: console format when
// format is "console", or "auto" and w is a terminal; JSON otherwise.
func NewLogger(w io.Writer, cfg config.Log) (zerolog.Logger, error) {
	level := zerolog.InfoLevel
	if cfg.Level != "" {
		l, err := zerolog.ParseLevel(cfg.Level)
		if err != nil {
			return zerolog.Nop(), fmt.Errorf("log level %q: %w", cfg.Level, err)
		}
		level = l
	}
	console := cfg.Format == "console" || (cfg.Format == "auto" || cfg.Format == "") && isTerminal(w)
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		w = u.Unwrap()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// maxBatchPending bounds the bytes a BatchWriter holds: beyond it, Write
// waits for the underlying writer to catch up instead of growing.
const maxBatchPending = 1 << 20

// BatchWriter hands what is written to it to another writer in as few
// writes as it can without holding anything back: a background goroutine
// writes whatever has accumulated since its last write, so a write made
// while the underlying writer is idle goes out at once, and the log lines
// of many concurrent calls go out together, one system call for many. A
// caller never waits for the underlying write, only for room when more
// than maxBatchPending bytes wait. Nothing is dropped. The owner must call
// Close, which writes what is left.
type BatchWriter struct {
	w    io.Writer
	wmu  sync.Mutex // serializes writes to w
	done chan struct{}

	mu      sync.Mutex
	room    *sync.Cond // signalled when pending is taken
	pending []byte
	wake    chan struct{} // capacity 1; closed by Close
	closed  bool
}

// NewBatchWriter starts a BatchWriter writing to w.
func NewBatchWriter(w io.Writer) *BatchWriter {
	b := &BatchWriter{w: w, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	b.room = sync.NewCond(&b.mu)
	go b.run()
	return b
}

// Write queues a copy of p. After Close it writes p directly.
func (b *BatchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.pending) >= maxBatchPending && !b.closed {
		b.room.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		b.wmu.Lock()
		defer b.wmu.Unlock()
		return b.w.Write(p)
	}
	b.pending = append(b.pending, p...)
	select {
	case b.wake <- struct{}{}:
	default:
	}
	b.mu.Unlock()
	return len(p), nil
}

// Unwrap returns the underlying writer.
func (b *BatchWriter) Unwrap() io.Writer { return b.w }

// Close writes what is queued and stops the background goroutine. Later
// writes go to the underlying writer directly.
func (b *BatchWriter) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.wake)
		b.room.Broadcast()
	}
	b.mu.Unlock()
	<-b.done
	return nil
}

func (b *BatchWriter) run() {
	defer close(b.done)
	var spare []byte
	for range b.wake {
		spare = b.flush(spare)
	}
	b.flush(nil) // what Close left
}

// flush writes what is pending, swapping in spare as the next buffer, and
// returns the written buffer for reuse.
func (b *BatchWriter) flush(spare []byte) []byte {
	b.mu.Lock()
	out := b.pending
	b.pending = spare[:0]
	b.room.Broadcast()
	b.mu.Unlock()
	if len(out) > 0 {
		b.wmu.Lock()
		_, _ = b.w.Write(out) // a log line that cannot be written has nowhere to go
		b.wmu.Unlock()
	}
	if cap(out) > maxBatchPending {
		return nil // do not keep a buffer a burst grew
	}
	return out
}

// millis is d in milliseconds, for log fields named …_ms: the unit is in
// the field's name and does not depend on zerolog's global duration
// settings.
func millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

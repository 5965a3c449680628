package proxy

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
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

// maxBatchPending bounds the bytes a BatchWriter holds: beyond it, lines
// are dropped and counted instead of waited for.
const maxBatchPending = 1 << 20

// closeWait bounds how long Close waits for the underlying writer to take
// what is left: a stalled stderr must not keep the process from exiting.
const closeWait = 2 * time.Second

// BatchWriter hands what is written to it to another writer in as few
// writes as it can without holding anything back: a background goroutine
// writes whatever has accumulated since its last write, so a write made
// while the underlying writer is idle goes out at once, and the log lines
// of many concurrent calls go out together, one system call for many. A
// caller never waits for the underlying writer: when it stalls (stderr a
// pipe nobody reads, a terminal paused with Ctrl-S) and maxBatchPending
// bytes wait, each further line is dropped and counted (Dropped), and once
// a write goes through again the OnRecover hook is told how many were
// dropped, to say so in one line. The owner must call Close, which writes
// what is left (waiting closeWait at most).
type BatchWriter struct {
	w            io.Writer
	closeWait    time.Duration // closeWait; tests shorten it
	wmu          sync.Mutex    // serializes writes to w
	done         chan struct{}
	writingSince atomic.Int64  // UnixNano when the write under way began; 0: none
	dropped      atomic.Uint64 // lines dropped, ever

	mu         sync.Mutex
	pending    []byte
	unreported uint64 // lines dropped since the last OnRecover call
	onRecover  func(dropped uint64)
	wake       chan struct{} // capacity 1; closed by Close
	closed     bool          // Close was called: the writer drains pending and ends
	finished   bool          // the writer ended with nothing pending: Write writes directly
}

// NewBatchWriter starts a BatchWriter writing to w.
func NewBatchWriter(w io.Writer) *BatchWriter {
	b := &BatchWriter{w: w, closeWait: closeWait, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go b.run()
	return b
}

// OnRecover sets f, called from the writer's goroutine when a write to the
// underlying writer has returned and lines were dropped since the last
// call; dropped is how many. f may write to b (it does not wait).
func (b *BatchWriter) OnRecover(f func(dropped uint64)) {
	b.mu.Lock()
	b.onRecover = f
	b.mu.Unlock()
}

// Write queues a copy of p, or drops it when maxBatchPending bytes already
// wait; it never waits for the underlying writer. Once Close has written
// everything, it writes p directly.
func (b *BatchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.finished {
		b.mu.Unlock()
		b.wmu.Lock()
		defer b.wmu.Unlock()
		return b.w.Write(p)
	}
	if len(b.pending) > 0 && len(b.pending)+len(p) > maxBatchPending {
		b.unreported++
		b.mu.Unlock()
		b.dropped.Add(1)
		return len(p), nil
	}
	b.pending = append(b.pending, p...)
	if !b.closed {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
	return len(p), nil
}

// Dropped returns how many lines were dropped so far.
func (b *BatchWriter) Dropped() uint64 { return b.dropped.Load() }

// StalledFor returns how long the write under way to the underlying writer
// has been going at now, or 0 when none is.
func (b *BatchWriter) StalledFor(now time.Time) time.Duration {
	since := b.writingSince.Load()
	if since == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, since)), 0)
}

// Unwrap returns the underlying writer.
func (b *BatchWriter) Unwrap() io.Writer { return b.w }

// Close writes what is queued and stops the background goroutine, waiting
// closeWait at most; it returns an error if the underlying writer did not
// take everything in that time. Later writes go to the underlying writer
// directly once everything queued was written (until then they queue,
// or are dropped past the bound, as before Close).
func (b *BatchWriter) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.wake)
	}
	b.mu.Unlock()
	t := time.NewTimer(b.closeWait)
	defer t.Stop()
	select {
	case <-b.done:
		return nil
	case <-t.C:
		return fmt.Errorf("log writer stalled: gave up after %v", b.closeWait)
	}
}

func (b *BatchWriter) run() {
	defer close(b.done)
	var spare []byte
	for range b.wake {
		spare = b.flush(spare)
	}
	for { // what Close left, and what is written meanwhile
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.finished = true
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.flush(nil)
	}
}

// flush writes what is pending, swapping in spare as the next buffer, and
// returns the written buffer for reuse. The previous write has returned by
// then, so lines dropped while it was stalled are reported first: the
// report goes into the fresh buffer, after what is being written.
func (b *BatchWriter) flush(spare []byte) []byte {
	b.mu.Lock()
	out := b.pending
	b.pending = spare[:0]
	b.mu.Unlock()
	b.reportDropped()
	if len(out) > 0 {
		b.wmu.Lock()
		b.writingSince.Store(time.Now().UnixNano())
		_, _ = b.w.Write(out) // a log line that cannot be written has nowhere to go
		b.writingSince.Store(0)
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

// reportDropped tells OnRecover's hook how many lines were dropped since
// it was last told, if any were.
func (b *BatchWriter) reportDropped() {
	b.mu.Lock()
	n, f := b.unreported, b.onRecover
	if f != nil {
		b.unreported = 0
	}
	b.mu.Unlock()
	if n > 0 && f != nil {
		f(n)
	}
}

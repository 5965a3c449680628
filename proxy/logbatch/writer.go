// Package logbatch is the log's writer: it hands what is written to it to
// another writer (stderr) in as few writes as it can without holding
// anything back, and never makes a caller wait for a stalled one: lines
// past a bound are dropped and counted (docs/design.md#logs-and-metrics).
package logbatch

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatchPending bounds the bytes a Writer holds: beyond it, lines
// are dropped and counted instead of waited for.
const maxBatchPending = 1 << 20

// closeWait bounds how long Close waits for the underlying writer to take
// what is left: a stalled stderr must not keep the process from exiting.
const closeWait = 2 * time.Second

// Writer hands what is written to it to another writer in as few
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
type Writer struct {
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

// NewWriter starts a Writer writing to w.
func New(w io.Writer) *Writer {
	b := &Writer{w: w, closeWait: closeWait, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go b.run()
	return b
}

// OnRecover sets f, called from the writer's goroutine when a write to the
// underlying writer has returned and lines were dropped since the last
// call; dropped is how many. f may write to b (it does not wait).
func (b *Writer) OnRecover(f func(dropped uint64)) {
	b.mu.Lock()
	b.onRecover = f
	b.mu.Unlock()
}

// Write queues a copy of p, or drops it when maxBatchPending bytes already
// wait; it never waits for the underlying writer. Once Close has written
// everything, it writes p directly.
func (b *Writer) Write(p []byte) (int, error) {
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
func (b *Writer) Dropped() uint64 { return b.dropped.Load() }

// StalledFor returns how long the write under way to the underlying writer
// has been going at now, or 0 when none is.
func (b *Writer) StalledFor(now time.Time) time.Duration {
	since := b.writingSince.Load()
	if since == 0 {
		return 0
	}
	return max(now.Sub(time.Unix(0, since)), 0)
}

// Unwrap returns the underlying writer.
func (b *Writer) Unwrap() io.Writer { return b.w }

// Close writes what is queued and stops the background goroutine, waiting
// closeWait at most; it returns an error if the underlying writer did not
// take everything in that time. Later writes go to the underlying writer
// directly once everything queued was written (until then they queue,
// or are dropped past the bound, as before Close).
func (b *Writer) Close() error {
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

func (b *Writer) run() {
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
func (b *Writer) flush(spare []byte) []byte {
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

// reportDropped tells OnRecover's hook how many lines were dropped since
// it was last told, if any were.
func (b *Writer) reportDropped() {
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

package filewatch

import (
	"errors"
	"io/fs"
	"time"
)

// A config or token_file read can fail while the file is there: the
// process is out of descriptors (EMFILE, typically while many calls wait),
// the system is (ENFILE), the disk errs (EIO). No file event will come to
// try again, so the watcher retries such a read itself, with back-off,
// until a read succeeds. A missing file is not retried: its creation is an
// event.
const (
	retryMin = 50 * time.Millisecond
	retryMax = 5 * time.Second
)

// Retry is the back-off of failed reads: whoever reloads (the watcher, a
// signal, the admin endpoints) notes whether a read failed, and the
// watcher given this Retry (Options.Retry) reloads again when one is due.
// It is not safe for concurrent use: its owner serializes its reloads.
type Retry struct {
	next time.Duration      // the delay of the next retry; 0: none failing
	due  chan time.Duration // capacity 1: a retry for the watcher to schedule
}

// NewRetry returns a Retry with no read failing.
func NewRetry() *Retry {
	return &Retry{due: make(chan time.Duration, 1)}
}

// Note records whether the reload that just ran had a read fail. If it
// did, the watcher is asked to reload again after the back-off, which
// doubles from 50 ms up to 5 s; the delay is returned. A reload with no
// read failing resets the back-off and returns 0.
func (r *Retry) Note(failed bool) time.Duration {
	if !failed {
		r.next = 0
		return 0
	}
	d := max(r.next, retryMin)
	r.next = min(2*d, retryMax)
	select {
	case r.due <- d:
	default: // a retry is already waiting to be scheduled
	}
	return d
}

// ReadFailed reports whether err holds a file read (or stat) that failed
// for another reason than the file's absence: one Retry is for.
func ReadFailed(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist)
}

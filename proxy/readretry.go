package proxy

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// A config or token_file read can fail while the file is there: the
// process is out of descriptors (EMFILE, typically while many calls wait),
// the system is (ENFILE), the disk errs (EIO). No file event will come to
// try again, so the watcher retries such a read itself, with back-off,
// until a read succeeds. A missing file is not retried: its creation is an
// event.
const (
	readRetryMin = 50 * time.Millisecond
	readRetryMax = 5 * time.Second
)

// readRetry is the back-off of failed reads, guarded by Server.reloads.mu.
type readRetry struct {
	next time.Duration      // the delay of the next retry; 0: none failing
	due  chan time.Duration // capacity 1: a retry for the watcher to schedule
}

// readFailed reports whether err holds a file read (or stat) that failed
// for another reason than the file's absence.
func readFailed(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist)
}

// noteReads records whether the reload that just ran had a read fail. If
// it did, the watcher is asked to reload again after the back-off, which
// doubles up to readRetryMax; the delay is returned. A reload with no read
// failing resets the back-off and returns 0. Called with reloads.mu held.
func (s *Server) noteReads(failed bool) time.Duration {
	if !failed {
		s.reloads.readRetry.next = 0
		return 0
	}
	d := max(s.reloads.readRetry.next, readRetryMin)
	s.reloads.readRetry.next = min(2*d, readRetryMax)
	select {
	case s.reloads.readRetry.due <- d:
	default: // a retry is already waiting to be scheduled
	}
	return d
}

// readConfigFile reads the config at path. Out of descriptors (EMFILE),
// it gives the spare one back for the read and takes it again after: the
// calls holding the descriptors may be waiting for the very token in this
// file. The spare is taken again on the next read if someone else got it
// meanwhile. Called with reloads.mu held.
func (s *Server) readConfigFile(path string) ([]byte, error) {
	if s.reloads.spareFD == nil {
		s.reloads.spareFD, _ = os.Open(os.DevNull)
	}
	data, err := os.ReadFile(path)
	if !errors.Is(err, syscall.EMFILE) || s.reloads.spareFD == nil {
		return data, err
	}
	s.reloads.spareFD.Close()
	data, err = os.ReadFile(path)
	s.reloads.spareFD, _ = os.Open(os.DevNull)
	return data, err
}

// closeSpareFD gives back the spare descriptor (at shutdown).
func (s *Server) closeSpareFD() {
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	if s.reloads.spareFD != nil {
		s.reloads.spareFD.Close()
		s.reloads.spareFD = nil
	}
}

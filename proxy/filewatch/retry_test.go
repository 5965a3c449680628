package filewatch

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestRetryBacksOffAndResets(t *testing.T) {
	r := NewRetry()
	for i, tc := range []struct {
		failed bool
		want   time.Duration
	}{
		{true, 50 * time.Millisecond},
		{true, 100 * time.Millisecond},
		{true, 200 * time.Millisecond},
		{true, 400 * time.Millisecond},
		{true, 800 * time.Millisecond},
		{true, 1600 * time.Millisecond},
		{true, 3200 * time.Millisecond},
		{true, 5 * time.Second},
		{true, 5 * time.Second},
		{false, 0},
		{true, 50 * time.Millisecond},
	} {
		if got := r.Note(tc.failed); got != tc.want {
			t.Errorf("note %d (failed=%v) = %v, want %v", i, tc.failed, got, tc.want)
		}
	}
	// Only one retry waits to be scheduled, the first noted.
	if d := <-r.due; d != 50*time.Millisecond {
		t.Errorf("due %v, want the first retry's 50ms", d)
	}
	select {
	case d := <-r.due:
		t.Errorf("a second retry waits (%v): want one at most", d)
	default:
	}
}

func TestReadFailed(t *testing.T) {
	for _, tc := range []struct {
		desc string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"a missing file: its creation is an event", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, false},
		{"out of descriptors", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EMFILE}, true},
		{"an I/O error, wrapped", fmt.Errorf("read config: %w", &fs.PathError{Op: "read", Path: "/x", Err: syscall.EIO}), true},
		{"not a file error", os.ErrDeadlineExceeded, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := ReadFailed(tc.err); got != tc.want {
				t.Errorf("ReadFailed(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

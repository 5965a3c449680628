package proxy

import (
	"testing"
	"time"
)

type fakeLogHealth struct {
	dropped uint64
	stalled time.Duration
}

func (f fakeLogHealth) Dropped() uint64                    { return f.dropped }
func (f fakeLogHealth) StalledFor(time.Time) time.Duration { return f.stalled }

func TestHealthText(t *testing.T) {
	for _, tc := range []struct {
		desc string
		h    LogWriterHealth
		want string
	}{
		{"no log writer to report on", nil, "ok\n"},
		{"a healthy log writer", fakeLogHealth{}, "ok\n"},
		{"a slow write is not yet a stall", fakeLogHealth{stalled: time.Second}, "ok\n"},
		{"a stalled log writer is named with what it cost",
			fakeLogHealth{dropped: 345, stalled: 12 * time.Second},
			"ok: calls proceed, but the log writer (stderr) has been stalled for 12s; 345 log lines dropped so far\n"},
		{"lines dropped in an earlier stall are still told",
			fakeLogHealth{dropped: 7},
			"ok: 7 log lines were dropped while the log writer (stderr) was stalled\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := healthText(tc.h, time.Now()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

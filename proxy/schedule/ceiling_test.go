package schedule

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRateLimitIsEnforcedByTheScheduler(t *testing.T) {
	tests := []struct {
		desc  string
		burst int
	}{
		{"burst 1: one call per interval", 1},
		{"burst 3: three at once, then one per interval", 3},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newHarness(t, 4)
			h.open() // slow start over: free, calls take the fast path
			if st := h.s.Status(); st.State != "free" {
				t.Fatalf("state %s after warming, want free", st.State)
			}
			h.s.SetCeiling(10, tt.burst)
			for i := range 8 {
				h.start(context.Background(), uint64(1000+i), time.Minute)
			}
			got := h.granted()
			for range got {
				h.s.Done(true)
			}
			if len(got) != tt.burst {
				t.Fatalf("granted %d at once with rate_limit {rps: 10, burst: %d}, want the burst", len(got), tt.burst)
			}
			for i := range 3 {
				h.clock.Advance(99 * time.Millisecond)
				if got := h.granted(); len(got) != 0 {
					t.Fatalf("interval %d: granted %d before 100 ms", i, len(got))
				}
				h.clock.Advance(time.Millisecond)
				got := h.granted()
				for range got {
					h.s.Done(true)
				}
				if len(got) != 1 {
					t.Fatalf("interval %d: granted %d after 100 ms, want 1", i, len(got))
				}
			}
		})
	}
}

func TestRateLimitTokensWaitOutAHold(t *testing.T) {
	h := newHarness(t, 64)
	h.s.SetCeiling(10, 5)
	h.warm(1)
	h.s.Hold(3*time.Second, 429, "")
	for i := range 10 {
		h.start(context.Background(), uint64(100+i), time.Minute)
	}
	// The bucket is full long before the hold ends: nothing goes.
	for range 29 {
		h.clock.Advance(100 * time.Millisecond)
		if got := h.granted(); len(got) != 0 {
			t.Fatalf("granted %d during the hold with rate_limit tokens to spare", len(got))
		}
	}
	h.clock.Advance(100 * time.Millisecond)
	if got := h.granted(); len(got) == 0 {
		t.Fatal("nothing granted at the end of the hold")
	}
}

func TestAWaitForRateLimitCountsAgainstTheBudget(t *testing.T) {
	h := newHarness(t, 4)
	h.open()
	h.s.SetCeiling(1, 1)
	h.start(context.Background(), 1, time.Minute) // spends the bucket
	h.s.Done(true)
	h.start(context.Background(), 2, 500*time.Millisecond)
	h.clock.Advance(500 * time.Millisecond)
	var tooLong bool
	for _, r := range h.granted() {
		if r.seq == 2 {
			tooLong = errors.Is(r.err, ErrWaitTooLong)
		}
	}
	if !tooLong || h.s.Status().Waiting != 0 {
		t.Fatalf("a call waiting 1 s for rate_limit with a budget of 0.5 s: gave up %v, %d waiting", tooLong, h.s.Status().Waiting)
	}
}

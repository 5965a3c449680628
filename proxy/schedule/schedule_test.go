package schedule

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// result is what one background Acquire returned.
type result struct {
	seq    uint64
	waited bool
	err    error
}

// harness runs Acquires in the background against a fake clock.
type harness struct {
	t     *testing.T
	clock *fakeClock
	s     *Scheduler
	out   chan result
}

func newHarness(t *testing.T, maxInflight int) *harness {
	c := newFakeClock()
	return &harness{t: t, clock: c, s: New(c, maxInflight), out: make(chan result, 1000)}
}

// start runs Acquire(seq) in the background and waits until it returned
// or queued.
func (h *harness) start(ctx context.Context, seq uint64, budget time.Duration) {
	h.t.Helper()
	before := h.s.Status().Waiting
	done := make(chan struct{})
	go func() {
		waited, err := h.s.Acquire(ctx, seq, budget)
		h.out <- result{seq, waited, err}
		close(done)
	}()
	h.until(func() bool {
		select {
		case <-done:
			return true
		default:
			return h.s.Status().Waiting > before
		}
	}, "Acquire(%d) neither returned nor queued", seq)
}

// until waits for cond, with a deadline.
func (h *harness) until(cond func() bool, format string, args ...any) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf(format, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

// granted returns the results available now, in the order they came.
func (h *harness) granted() []result {
	h.t.Helper()
	var rs []result
	// A grant closes the waiter's channel under the scheduler's lock; the
	// goroutine then sends: give it a moment to arrive.
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case r := <-h.out:
			rs = append(rs, r)
			deadline = time.Now().Add(50 * time.Millisecond)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	return rs
}

func seqs(rs []result) []uint64 {
	var out []uint64
	for _, r := range rs {
		out = append(out, r.seq)
	}
	return out
}

// warm makes n accepted calls one after the other: slow start opens.
func (h *harness) warm(n int) {
	for i := range n {
		if _, err := h.s.Acquire(context.Background(), uint64(i+1), time.Minute); err != nil {
			h.t.Fatal(err)
		}
		h.s.Done(true)
	}
}

// open ends slow start with accepted calls one after the other, a
// doubling interval apart: the scheduler is free.
func (h *harness) open() {
	h.t.Helper()
	for i := 0; h.s.Status().State != "free"; i++ {
		if i > 10000 {
			h.t.Fatalf("slow start never ended: %+v", h.s.Status())
		}
		if _, err := h.s.Acquire(context.Background(), uint64(i+1), time.Minute); err != nil {
			h.t.Fatal(err)
		}
		h.clock.Advance(doublingMin)
		h.s.Done(true)
	}
}

func TestFreeCallsGoAtOnce(t *testing.T) {
	h := newHarness(t, 4)
	h.open() // cwnd 1, 2, 3, 4: one more per accepted call
	if st := h.s.Status(); st.State != "free" {
		t.Fatalf("state after slow start = %s, want free", st.State)
	}
	for i := range 4 {
		if waited, err := h.s.Acquire(context.Background(), uint64(100+i), time.Minute); err != nil || waited {
			t.Fatalf("free Acquire: waited=%v err=%v", waited, err)
		}
	}
	// The fifth waits for a call to finish: at most maxInflight are out.
	h.start(context.Background(), 200, time.Minute)
	if got := h.granted(); len(got) != 0 {
		t.Fatalf("fifth call granted with four out: %v", got)
	}
	h.s.Done(true)
	if got := seqs(h.granted()); len(got) != 1 || got[0] != 200 {
		t.Fatalf("after one Done got %v, want [200]", got)
	}
}

func TestSlowStartDoublesPerRound(t *testing.T) {
	tests := []struct {
		desc string
		rtt  time.Duration
		want []int // calls granted per round trip
	}{
		{"round trips of 200 ms (Notion's): doubles per round trip", 200 * time.Millisecond, []int{1, 2, 4, 8, 16}},
		{"round trips of 1 ms: doubles once per doublingMin", time.Millisecond, append(append(append([]int{1}, repeat(2, 19)...), repeat(4, 20)...), 8)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newHarness(t, 64)
			for i := range 200 {
				h.start(context.Background(), uint64(i+1), time.Minute)
			}
			for round, want := range tt.want {
				got := h.granted()
				if len(got) != want {
					t.Fatalf("round %d granted %d calls, want %d", round, len(got), want)
				}
				h.clock.Advance(tt.rtt)
				for range got {
					h.s.Done(true)
				}
			}
		})
	}
}

func repeat(n, times int) []int {
	out := make([]int, times)
	for i := range out {
		out[i] = n
	}
	return out
}

// With no 429 the window opens to maxInflight in O(log maxInflight) round
// trips of Notion's length: a round trip here is every call out answered
// after 200 ms.
func TestSlowStartOpensInLogRoundTrips(t *testing.T) {
	for _, n := range []int{8, 64, 1024} {
		t.Run(fmt.Sprintf("maxInflight %d", n), func(t *testing.T) {
			h := newHarness(t, n)
			var next uint64
			acquire := func() { // one caller's next call, in the background
				next++
				go func(seq uint64) {
					_, err := h.s.Acquire(context.Background(), seq, time.Hour)
					h.out <- result{seq: seq, err: err}
				}(next)
			}
			for range n { // n callers
				acquire()
			}
			queued := func() bool { st := h.s.Status(); return st.Waiting+int(st.Inflight) == n }
			h.until(queued, "calls not queued")
			rounds := 0
			for h.s.Status().Inflight < int64(n) { // until every caller is out at once
				if rounds++; rounds > 2*n {
					t.Fatalf("still %s after %d round trips", h.s.Status().State, rounds)
				}
				out := int(h.s.Status().Inflight)
				for range out {
					r := <-h.out
					if r.err != nil {
						t.Fatal(r.err)
					}
				}
				h.clock.Advance(200 * time.Millisecond)
				for range out {
					h.s.Done(true)
					acquire() // the caller sends its next call
				}
				h.until(queued, "calls not queued")
			}
			if limit := int(math.Ceil(math.Log2(float64(n)))) + 1; rounds > limit {
				t.Fatalf("the window opened to %d after %d round trips, want at most log2(%d)+1 = %d", n, rounds, n, limit)
			}
		})
	}
}

func TestHoldStopsEveryCallUntilRetryAfter(t *testing.T) {
	h := newHarness(t, 4)
	h.warm(4)
	h.s.Hold(2*time.Second, 429, "")
	for i := range 3 {
		h.start(context.Background(), uint64(10+i), time.Minute)
	}
	h.clock.Advance(1999 * time.Millisecond)
	if got := h.granted(); len(got) != 0 {
		t.Fatalf("granted during the hold: %v", got)
	}
	if st := h.s.Status(); st.State != "held" || !st.HeldUntil.Equal(h.clock.now.Add(time.Millisecond)) {
		t.Fatalf("status during hold = %+v", st)
	}
	h.clock.Advance(time.Millisecond)
	// A 2 s Retry-After ends a window: its budget (4 calls) goes at once.
	if got := seqs(h.granted()); len(got) != 3 {
		t.Fatalf("after the hold granted %v, want all 3", got)
	}
}

func TestHoldWithoutRetryAfterBacksOff(t *testing.T) {
	h := newHarness(t, 4)
	h.warm(1)
	tests := []struct {
		desc string
		want time.Duration
	}{
		{"a first hold without Retry-After lasts the back-off base", backoffBase},
		{"a second in a row lasts twice as long", 2 * backoffBase},
		{"a third, four times", 4 * backoffBase},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			now := h.clock.Now()
			until := h.s.Hold(0, 429, "")
			if got := until.Sub(now); got != tt.want {
				t.Fatalf("hold = %v, want %v", got, tt.want)
			}
			h.clock.Advance(tt.want)
			h.s.Status() // the hold ends
		})
	}
}

func TestOldestFirstAfterHold(t *testing.T) {
	h := newHarness(t, 64)
	h.warm(1)
	h.s.Hold(time.Second, 429, "")
	// Newer calls arrive first; an older call (a retry keeps its number)
	// comes last and still goes first.
	for _, seq := range []uint64{12, 10, 11, 5} {
		h.start(context.Background(), seq, time.Minute)
	}
	var order []uint64
	h.clock.Advance(time.Second)
	for len(order) < 4 {
		order = append(order, seqs(h.granted())...)
		h.clock.Advance(100 * time.Millisecond) // less than one pace interval
	}
	want := []uint64{5, 10, 11, 12}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("grant order %v, want %v", order, want)
		}
	}
}

func TestPaceIsLearnedFromWhatNotionAccepted(t *testing.T) {
	tests := []struct {
		desc     string
		hold     time.Duration
		wantPace float64
	}{
		// 20 calls accepted, then a 429: 20 calls per the time to the
		// end of the hold.
		{"a hold of 1.6 s after 20 calls paces at 12.5/s", 1600 * time.Millisecond, 12.5},
		// Notion's shortest Retry-After, 1 s, stands for any wait up
		// to a second: half a second comes off.
		{"a Retry-After of 1 s after 20 calls paces at 40/s", time.Second, 40},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h := newHarness(t, 64)
			h.warm(20)
			h.s.Hold(tt.hold, 429, "")
			for i := range 30 {
				h.start(context.Background(), uint64(100+i), time.Minute)
			}
			h.clock.Advance(tt.hold)
			if got := len(h.granted()); got != 1 {
				t.Fatalf("granted %d at the end of the hold, want 1 (then paced)", got)
			}
			st := h.s.Status()
			if st.State != "paced" || st.Pace < tt.wantPace*0.99 || st.Pace > tt.wantPace*1.01 {
				t.Fatalf("after the hold: state %s pace %.2f, want paced at %.2f/s", st.State, st.Pace, tt.wantPace)
			}
			// One second later about pace more went out (of the 29
			// waiting), not all at once.
			for range 10 {
				h.clock.Advance(100 * time.Millisecond)
			}
			want := min(tt.wantPace, 29)
			if got := float64(len(h.granted())); got < want-2 || got > want+2 {
				t.Fatalf("granted %.0f in the next second at %.2f/s", got, tt.wantPace)
			}
		})
	}
}

func TestPaceRisesWhileAcceptedAndFallsOnA429(t *testing.T) {
	h := newHarness(t, 64)
	h.warm(10)
	h.s.Hold(time.Second, 429, "")
	for i := range 200 {
		h.start(context.Background(), uint64(100+i), time.Hour)
	}
	h.clock.Advance(time.Second)
	start := h.s.Status().Pace
	accepted := 0
	for range 100 {
		h.clock.Advance(50 * time.Millisecond)
		for range h.granted() {
			h.s.Done(true)
			accepted++
		}
	}
	risen := h.s.Status().Pace
	if risen <= start*math.Pow(growth, 4) {
		t.Fatalf("pace %.2f after 5 s of accepted calls waiting for it, started at %.2f: want a rise", risen, start)
	}
	// A 429 now: the pace falls to what Notion accepted since the hold
	// (accepted calls over 5 s plus the new 1 s hold, less the rounding
	// slack of a whole-second Retry-After).
	h.s.Hold(time.Second, 429, "")
	h.clock.Advance(time.Second)
	fallen := h.s.Status().Pace
	want := float64(accepted) / 5.5
	if fallen >= risen || fallen < want*0.95 || fallen > want*1.05 {
		t.Fatalf("pace after a 429 = %.2f (was %.2f), want about %.2f", fallen, risen, want)
	}
}

func TestPaceStopsAtTheCeiling(t *testing.T) {
	h := newHarness(t, 64)
	h.s.SetCeiling(5, 100) // a burst for the warm-up's 100 calls at one instant
	h.warm(100)
	h.s.Hold(time.Second, 429, "")
	for i := range 3 {
		h.start(context.Background(), uint64(200+i), time.Minute)
	}
	h.clock.Advance(time.Second)
	if p := h.s.Status().Pace; p != 5 {
		t.Fatalf("pace %.2f with rate_limit 5 (100/s accepted), want 5", p)
	}
}

func TestCancelWhileHeldIsDropped(t *testing.T) {
	h := newHarness(t, 4)
	h.warm(4)
	h.s.Hold(time.Second, 429, "")
	ctx, cancel := context.WithCancel(context.Background())
	h.start(ctx, 10, time.Minute)
	cancel()
	h.until(func() bool { return h.s.Status().Waiting == 0 }, "canceled call still queued")
	r := <-h.out
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	h.clock.Advance(time.Second)
	if st := h.s.Status(); st.Inflight != 0 {
		t.Fatalf("inflight %d after the hold: the canceled call was granted", st.Inflight)
	}
}

func TestMaxWait(t *testing.T) {
	t.Run("a hold longer than the budget answers at once", func(t *testing.T) {
		h := newHarness(t, 4)
		h.warm(4)
		h.s.Hold(10*time.Second, 429, "")
		waited, err := h.s.Acquire(context.Background(), 10, 5*time.Second)
		if !errors.Is(err, ErrWaitTooLong) || !waited {
			t.Fatalf("Acquire = %v, %v; want ErrWaitTooLong", waited, err)
		}
	})
	t.Run("a wait for the pace past the budget gives up at the budget", func(t *testing.T) {
		h := newHarness(t, 64)
		h.warm(1)
		h.s.Hold(time.Second, 429, "")
		for i := range 5 {
			h.start(context.Background(), uint64(10+i), 1500*time.Millisecond)
		}
		h.clock.Advance(1500 * time.Millisecond)
		var tooLong int
		for _, r := range h.granted() {
			if errors.Is(r.err, ErrWaitTooLong) {
				tooLong++
			}
		}
		if tooLong == 0 || h.s.Status().Waiting != 0 {
			t.Fatalf("%d calls gave up, %d still waiting: want every call past its budget gone", tooLong, h.s.Status().Waiting)
		}
	})
}

func TestWorkspaceHoldCountsNo429(t *testing.T) {
	h := newHarness(t, 4)
	h.warm(4)
	h.s.HoldFor(time.Second, "workspace_rate_limited")
	st := h.s.Status()
	if st.State != "held" || len(st.Limited) != 0 || st.HoldReason != "workspace_rate_limited" {
		t.Fatalf("status = %+v", st)
	}
}

func TestRestartSlowsAReleasedCrowd(t *testing.T) {
	h := newHarness(t, 64)
	h.warm(64)
	h.s.Restart()
	for i := range 10 {
		h.start(context.Background(), uint64(100+i), time.Minute)
	}
	if got := len(h.granted()); got != 1 {
		t.Fatalf("granted %d after Restart, want 1", got)
	}
}

// TestManyCallersRace runs free, queued and held calls together on the
// real clock, for the race detector: every call ends, none is lost.
func TestManyCallersRace(t *testing.T) {
	s := New(SystemClock{}, 8)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			for j := range 20 {
				if _, err := s.Acquire(context.Background(), uint64(i*100+j), time.Minute); err != nil {
					t.Error(err)
					return
				}
				if i == 7 && j == 3 {
					s.Hold(5*time.Millisecond, 429, "")
					s.Done(false)
					continue
				}
				s.Done(true)
			}
		})
	}
	wg.Wait()
	if st := s.Status(); st.Inflight != 0 || st.Waiting != 0 {
		t.Fatalf("after every call: %+v", st)
	}
}

func TestAPaceThatStopsBindingIsForgotten(t *testing.T) {
	h := newHarness(t, 64)
	h.warm(1)
	h.s.Hold(time.Second, 429, "")
	h.start(context.Background(), 10, time.Minute)
	h.clock.Advance(time.Second) // paced at the measured 1 call/s
	if got := len(h.granted()); got != 1 {
		t.Fatalf("granted %d at the end of the hold, want 1", got)
	}
	h.s.Done(true)
	// Nobody came for two intervals: the next calls go at once.
	h.clock.Advance(2 * time.Second)
	for i := range 3 {
		if waited, err := h.s.Acquire(context.Background(), uint64(20+i), time.Minute); err != nil || waited {
			t.Fatalf("call %d after an idle pace: waited=%v err=%v", i, waited, err)
		}
	}
	if st := h.s.Status(); st.State != "free" {
		t.Fatalf("state %s, want free", st.State)
	}
}

func TestRestartForgetsWhatWasAcceptedBefore(t *testing.T) {
	h := newHarness(t, 64)
	h.warm(100) // a fast burst just before a pause
	h.s.Restart()
	h.warm(5)
	h.s.Hold(time.Second, 429, "")
	for i := range 10 {
		h.start(context.Background(), uint64(200+i), time.Minute)
	}
	h.clock.Advance(time.Second)
	// 5 calls over the hold, less the rounding slack: 10/s, not 210/s.
	if p := h.s.Status().Pace; p < 9.9 || p > 10.1 {
		t.Fatalf("pace %.2f after Restart, 5 accepted and a 1 s hold; want 10", p)
	}
}

func TestAWindowBudgetIsSpentAtEachWindowStart(t *testing.T) {
	h := newHarness(t, 64)
	// 20 calls accepted at once, then a 429 asking to wait 2 s: a budget
	// of 20 per 2 s window (Notion's per-connection limit, in small).
	h.warm(20)
	h.s.Hold(2*time.Second, 429, "")
	for i := range 50 {
		h.start(context.Background(), uint64(100+i), time.Minute)
	}
	h.clock.Advance(2 * time.Second)
	got := h.granted()
	if len(got) != 20 {
		t.Fatalf("granted %d at the end of the hold, want the budget, 20, at once", len(got))
	}
	for range got {
		h.s.Done(true)
	}
	if st := h.s.Status(); st.State != "budgeted" || st.Pace != 10 {
		t.Fatalf("status %+v, want budgeted at 20 per 2 s", st)
	}
	h.clock.Advance(1999 * time.Millisecond)
	if got := h.granted(); len(got) != 0 {
		t.Fatalf("granted %d before the next window", len(got))
	}
	h.clock.Advance(time.Millisecond)
	if got := h.granted(); len(got) != 20 {
		t.Fatalf("granted %d at the next window, want 20", len(got))
	}
}

func TestAWindowBudgetGrowsWhenSpentAndEndsWhenUnused(t *testing.T) {
	h := newHarness(t, 64)
	h.warm(4)
	h.s.Hold(2*time.Second, 429, "")
	for i := range 100 {
		h.start(context.Background(), uint64(100+i), time.Hour)
	}
	var perWindow []int
	h.clock.Advance(2 * time.Second)
	for range budgetProbe + 1 {
		got := h.granted()
		perWindow = append(perWindow, len(got))
		for range got {
			h.s.Done(true)
		}
		h.clock.Advance(2 * time.Second)
	}
	if perWindow[0] != 4 || perWindow[budgetProbe] != 5 {
		t.Fatalf("calls per window %v: want the budget, 4, then 5 after %d windows spent", perWindow, budgetProbe)
	}
	// Nobody waits any more: a window passes unused, the budget ends.
	h.s.Close(errors.New("test over"))
	h.granted()
	h.clock.Advance(4 * time.Second)
	if st := h.s.Status(); st.State != "free" {
		t.Fatalf("state %s after an unused window, want free", st.State)
	}
}

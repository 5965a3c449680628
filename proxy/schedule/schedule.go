// Package schedule keeps every call of one profile under Notion's rate
// limits (docs/design.md#the-rate-limit-scheduler): one scheduler per profile decides when each call may
// be sent. It is a state machine with a clock seam and no sockets; package
// proxy owns the calls and tells it what Notion answered.
//
// States:
//
//	free      no 429 seen (or the pace rose past every limit again): a call
//	          goes at once while fewer than maxInflight calls are out. The
//	          fast path is a clock read and a few atomic operations: no
//	          lock, no goroutine, no timer.
//	starting  slow start, after New and after Restart (a paused profile's
//	          calls released at once): at most cwnd calls are out; cwnd
//	          starts at 1 and grows by one per accepted call, so it
//	          doubles per round trip (TCP's slow start), but at most once
//	          per doublingMin: a crowd meets a burst limit a few calls at
//	          a time instead of all at once. With Notion's round trips
//	          (100 ms and more) the window is wide open after log2(64) =
//	          6 of them (one more call per round trip was linear: 24
//	          callers waited 15 round trips for what they do in 5); with
//	          fast ones, where doubling per round trip would run into a
//	          burst limit with cwnd/2 calls too many, a window's calls
//	          spend the burst or budget before it doubles.
//	held      a 429 or 529 came back: nothing is granted until heldUntil
//	          (its Retry-After, or a back-off when it has none or it has
//	          passed). Calls queue in arrival order.
//	paced     after a hold: calls are granted oldest first, one every
//	          1/pace seconds, and at most cwnd out at once.
//	budgeted  after a hold that waited for a window's end (a Retry-After
//	          of 2 s or more): budget calls are granted at once at the
//	          start of each window, oldest first, then none until the
//	          next (Notion's per-connection limit is a budget per window,
//	          spendable in a burst).
//
// Transitions:
//
//	any      --Hold(d)--> held (heldUntil = max(heldUntil, now+d))
//	held     --clock passes heldUntil--> paced (pace learned, see below),
//	                                     budgeted (after a window's wait),
//	                                     or free if at most one call waits
//	budgeted --a window passes with no call--> free
//	starting --cwnd reaches maxInflight, queue empty--> free
//	paced    --pace rises to the ceiling or maxPace, queue empty--> free
//	paced    --a whole pace interval passes with nobody waiting--> free
//	free     --Restart--> starting (paced, budgeted and held keep their
//	                      state; cwnd drops to 1 and the measurement
//	                      starts again)
//
// The pace controller (AIMD, the decrease measured rather than guessed):
//
//   - Decrease, at the end of each hold: pace = accepted/elapsed, what
//     Notion actually let through. accepted counts the calls Notion
//     accepted since the previous hold ended or the current busy stretch
//     began (the first call after idleGap without any), whichever is
//     later; elapsed runs from then to the end of this hold, less
//     roundingSlack when the hold was a Retry-After of 1 s (Notion rounds
//     up from anything shorter). For a token bucket that is its rate, a
//     little under. When at most
//     one call waits at the end of a hold there is no crowd to pace: the
//     scheduler goes free instead.
//   - Increase: while calls wait for the pace (it binds), it grows by
//     growth per second of waiting, i.e. ×growth^(1/pace) per paced
//     grant, while Notion accepts: the next 429 ends the rise and
//     measures again.
//   - Ceiling: the pace never exceeds the configured rate_limit (0: none);
//     reaching it (or maxPace) with nobody waiting returns to free. The
//     rate_limit itself is enforced here too, in every state: each grant
//     takes a token of its bucket (rps, burst; ceiling.go), so the
//     scheduler is the one place that decides when a call goes out, and a
//     call waiting for rate_limit waits in the queue, never past a hold,
//     and within its max_wait.
//   - Forgetting: a pace that stops binding (a whole interval passes with
//     no call waiting for it) returns to free: below the limit there is
//     nothing to pace, and a pace learned from a few calls (low demand)
//     would otherwise slow the next crowd for no reason. The next 429
//     learns it again.
//
// The window controller (budgeted): the budget is what Notion accepted in
// the window the 429 ended, the window runs from that window's start (the
// previous hold's end, or the busy stretch's start) to the end of this
// hold. A window that spends its budget budgetProbe times in a row
// without a 429 grows it by one call; a 429 learns both again. Windows
// are counted from the end of a hold, which is at or after the limit's
// own reset (Retry-After is rounded up), so they never start early.
//
// Invariants, true whenever mu is not held:
//
//   - the queue is sorted by seq; grants leave it from the front, so a
//     retried call (which keeps its seq) goes before newer ones;
//   - nothing is granted while clock.Now() < heldUntil, nor beyond the
//     rate_limit bucket's tokens;
//   - free is true only in state free with an empty queue and no
//     rate_limit (with one, every grant takes a token under mu); every path
//     that leaves it clears free under mu before it reads inflight, so a
//     racing fast path either is seen in inflight or sees free false and
//     takes the lock (at most the calls already past the check of free
//     go out after a Hold: they were in flight "meanwhile");
//   - inflight counts granted calls not yet Done (a grant handed back by a
//     call that gave up waiting is Done too); a timer is armed whenever
//     the queue is not empty and a grant waits for the clock.
package schedule

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Tuning of the pace controller and slow start.
const (
	// DefaultMaxInflight is the most calls of one profile out at once: the
	// upstream transport's connections per host, so the scheduler, not the
	// transport's hidden queue, holds the calls that wait.
	DefaultMaxInflight = 64
	// growth is how much the pace rises per second while calls wait for
	// it. Slowly: the measured pace is close to the limit already, and
	// each 429 costs a hold of a whole second at least (Retry-After is
	// whole seconds), half of it lost against a token bucket.
	growth = 1.01
	// roundingSlack is taken off a measurement period that ends with a
	// Retry-After of 1 s, Notion's shortest: the wait it rounded up was
	// anywhere in (0, 1 s], so on average the limit reopened that much
	// earlier. (For longer waits the rounding matters less, and a long
	// wait is a window's: its end is what the budget is spent over.)
	roundingSlack = 500 * time.Millisecond
	// windowWait is the shortest Retry-After taken for a window's end: a
	// token bucket (rate of a call a second or more) never asks more than
	// 1 s, a window budget spent in a burst asks until the window ends.
	windowWait = 2 * time.Second
	// doublingMin is the shortest time in which slow start doubles its
	// window. Round trips shorter than this (a nearby upstream) would
	// double it faster than a limit of a few calls per second is
	// reached: in doublingMin, cwnd calls in a row send
	// cwnd×doublingMin/RTT calls, which spend a small burst or budget
	// before the next doubling, so few calls are out when it runs out.
	doublingMin = 20 * time.Millisecond
	// budgetProbe is how many windows in a row must spend their budget,
	// without a 429, before the budget grows by one call.
	budgetProbe = 5
	// minPace is the slowest pace the controller falls to (calls/s).
	minPace = 0.5
	// maxPace is a pace above any Notion limit: rising past it is free.
	maxPace = 10000
	// backoffBase and backoffMax bound the hold of a 429 with no usable
	// Retry-After: base × 2^(holds in a row - 1), capped.
	backoffBase = 500 * time.Millisecond
	backoffMax  = 8 * time.Second
)

// ErrWaitTooLong is returned by Acquire when the call would wait past its
// budget (retry.max_wait): the caller answers with Notion's 429.
var ErrWaitTooLong = errors.New("rate-limit hold outlasts the call's max_wait")

// Scheduler decides when each call of one profile is sent. All methods are
// safe for concurrent use.
type Scheduler struct {
	clock       Clock
	maxInflight int64

	// Fast path state (no lock).
	free     atomic.Bool
	inflight atomic.Int64
	accepted atomic.Int64 // calls accepted since the measurement period began
	lastSeen atomic.Int64 // UnixNano of a recent Acquire (10 ms resolution)
	stretch  atomic.Int64 // UnixNano when the current busy stretch began
	okSince  atomic.Bool  // a call was accepted since the last hold began

	mu       sync.Mutex
	state    state
	cwnd     int64
	ssBase   int64     // cwnd when the current doubling began
	ssStart  time.Time // when it began
	rounded  bool      // the hold's length is a Retry-After of 1 s
	windowed bool      // the hold's length is a Retry-After of 2 s or more
	heldFrom state     // the state the current hold began in

	// budgeted: budget calls per window, from windowStart on.
	budget      int64
	window      time.Duration
	windowStart time.Time
	used        int64 // calls granted in the current window
	okAtWindow  int64 // accepted (the counter) when the current window began
	fullRuns    int   // windows in a row whose budget was spent
	heldUntil   time.Time
	holdReason  string
	holdsInRow  int
	heldTotal   time.Duration
	paceAt429   float64   // pace when the current hold began (0: not paced)
	pace        float64   // calls/s while paced
	ceiling     float64   // rate_limit rps (0: none)
	burst       float64   // rate_limit burst
	tokens      float64   // rate_limit's bucket (ceiling.go)
	tokensAt    time.Time // when tokens was last refilled
	next        time.Time
	periodStart time.Time // the previous hold's end
	queue       []*waiter
	timer       Timer
	timerAt     time.Time
	limited     map[string]int64 // 429s and 529s by status and reason
}

type state int

const (
	stateFree state = iota
	stateStarting
	stateHeld
	statePaced
	stateBudgeted
)

func (s state) String() string {
	return [...]string{"free", "starting", "held", "paced", "budgeted"}[s]
}

type waiter struct {
	seq     uint64
	ready   chan struct{}
	err     error
	granted bool
	timer   Timer
}

// New returns a scheduler in slow start.
func New(clock Clock, maxInflight int) *Scheduler {
	if maxInflight < 1 {
		maxInflight = DefaultMaxInflight
	}
	return &Scheduler{clock: clock, maxInflight: int64(maxInflight), state: stateStarting, cwnd: 1,
		ssBase: 1, ssStart: clock.Now(), limited: map[string]int64{}}
}

// Acquire waits until the call numbered seq (its arrival order: a retry
// keeps its number) may be sent. It returns ErrWaitTooLong at once when a
// hold outlasts budget, and after budget of waiting otherwise; ctx.Err()
// when ctx ends first. After a nil error the caller must call Done once.
// waited says whether the call had to wait (a hold, the pace, or a full
// window).
func (s *Scheduler) Acquire(ctx context.Context, seq uint64, budget time.Duration) (waited bool, err error) {
	s.seen()
	if s.free.Load() {
		if s.inflight.Add(1) <= s.maxInflight {
			return false, nil
		}
		s.inflight.Add(-1)
	}
	s.mu.Lock()
	now := s.clock.Now()
	if now.Before(s.heldUntil) && s.heldUntil.Sub(now) > budget {
		s.mu.Unlock()
		return true, ErrWaitTooLong
	}
	w := &waiter{seq: seq, ready: make(chan struct{})}
	s.free.Store(false)
	i := sort.Search(len(s.queue), func(i int) bool { return s.queue[i].seq > seq })
	s.queue = append(s.queue, nil)
	copy(s.queue[i+1:], s.queue[i:])
	s.queue[i] = w
	s.dispatch(now)
	if w.granted {
		s.mu.Unlock()
		return false, w.err
	}
	expired := make(chan struct{})
	w.timer = s.clock.AfterFunc(budget, func() { close(expired) })
	s.mu.Unlock()

	select {
	case <-w.ready:
		return true, w.err
	case <-ctx.Done():
		return true, s.leave(w, ctx.Err())
	case <-expired:
		return true, s.leave(w, ErrWaitTooLong)
	}
}

// leave gives up w's place with err; a grant that raced with it is handed
// back.
func (s *Scheduler) leave(w *waiter, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		if w.err == nil {
			s.inflight.Add(-1)
			s.dispatch(s.clock.Now())
		}
		return err
	}
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	s.dispatch(s.clock.Now())
	return err
}

// Done ends a granted call. accepted is true when Notion answered anything
// but a 429 or 529 (those call Hold first) or a transport error.
func (s *Scheduler) Done(accepted bool) {
	s.inflight.Add(-1)
	s.seen()
	if accepted {
		s.accepted.Add(1)
		if !s.okSince.Load() {
			s.okSince.Store(true)
		}
	}
	if s.free.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if accepted {
		s.grow(s.clock.Now())
	}
	s.dispatch(s.clock.Now())
}

// grow widens the slow-start window for an accepted call: by one (the
// window doubles per round trip) until it has doubled since ssStart, then
// again once doublingMin has passed since, until the first 429 (which ends
// slow start) or maxInflight. Called with mu held.
func (s *Scheduler) grow(now time.Time) {
	if s.cwnd >= s.maxInflight {
		return
	}
	if s.cwnd >= 2*s.ssBase {
		if now.Sub(s.ssStart) < doublingMin {
			return
		}
		s.ssBase, s.ssStart = s.cwnd, now
	}
	s.cwnd++
}

// Hold holds the profile for d (Notion's Retry-After), or for a back-off
// when d <= 0 (no Retry-After, or one already past). reason is Notion's
// additional_data.rate_limit_reason ("" if none), status 429 or 529. It
// returns the end of the hold.
func (s *Scheduler) Hold(d time.Duration, status int, reason string) time.Time {
	s.free.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[limitKey(status, reason)]++
	return s.hold(d, reason)
}

// HoldFor holds the profile because another profile of its workspace was
// held (docs/design.md#the-rate-limit-scheduler): like Hold, without counting a 429 of this profile's own.
func (s *Scheduler) HoldFor(d time.Duration, reason string) time.Time {
	s.free.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hold(d, reason)
}

func (s *Scheduler) hold(d time.Duration, reason string) time.Time {
	s.free.Store(false) // again under mu: a dispatch may have set it since
	now := s.clock.Now()
	if s.state != stateHeld {
		if s.okSince.Swap(false) {
			s.holdsInRow = 0 // Notion accepted a call since the last hold
		}
		s.holdsInRow++
		s.paceAt429 = 0
		if s.state == statePaced {
			s.paceAt429 = s.pace
		}
		s.heldFrom = s.state
		s.state = stateHeld
	}
	fromNotion := d > 0
	if d <= 0 {
		d = min(backoffBase<<min(s.holdsInRow-1, 16), backoffMax)
	}
	until := now.Add(d)
	if until.After(s.heldUntil) {
		s.rounded = fromNotion && d == time.Second
		s.windowed = fromNotion && d >= windowWait
		s.heldTotal += until.Sub(maxTime(s.heldUntil, now))
		s.heldUntil = until
		s.holdReason = reason
	}
	s.dispatch(now)
	return s.heldUntil
}

// Restart puts the scheduler back in slow start (cwnd 1) unless it is
// held: for a crowd of calls released at once, e.g. after a new token.
func (s *Scheduler) Restart() {
	s.free.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cwnd, s.ssBase, s.ssStart = 1, 1, s.clock.Now()
	// A new regime: what Notion accepted before says nothing of the
	// crowd to come (a pause can follow a fast burst within a second).
	now := s.clock.Now()
	s.accepted.Store(0)
	s.stretch.Store(now.UnixNano())
	s.periodStart = now
	s.free.Store(false)
	if s.state == stateFree {
		s.state = stateStarting
	}
	s.dispatch(now)
}

// Close answers every waiting call with err.
func (s *Scheduler) Close(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.queue {
		w.err, w.granted = err, true
		s.answer(w)
	}
	clear(s.queue)
	s.queue = s.queue[:0]
}

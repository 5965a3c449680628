package gate

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

func newTestGate(token string, maxQueued int) (*Gate, *eventLog) {
	ev := &eventLog{}
	return New(token, maxQueued, time.Now, ev.add), ev
}

type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *eventLog) list() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

// acquire joins g's queue and, when the call must wait, waits there at
// most maxWait: a call's whole way through the gate.
func acquire(g *Gate, ctx context.Context, seq uint64, maxWait time.Duration) (Ticket, error) {
	t, place, err := g.Join(seq)
	if place == nil {
		return t, err
	}
	return waitAt(place, ctx, maxWait)
}

// waitAt waits at place for at most maxWait.
func waitAt(place *Place, ctx context.Context, maxWait time.Duration) (Ticket, error) {
	deadline := time.Now().Add(maxWait)
	return place.WaitLimit(ctx, func() (time.Duration, <-chan struct{}) { return time.Until(deadline), nil })
}

// acquireAsync starts an acquire and returns a channel with its result.
func acquireAsync(g *Gate, ctx context.Context, seq uint64, wait time.Duration) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		t, err := acquire(g, ctx, seq, wait)
		ch <- acquired{t, err}
	}()
	return ch
}

type acquired struct {
	t   Ticket
	err error
}

func recv(t *testing.T, ch <-chan acquired) acquired {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("Acquire did not return")
		return acquired{}
	}
}

func notReady(t *testing.T, ch <-chan acquired) {
	t.Helper()
	select {
	case a := <-ch:
		t.Fatalf("Acquire returned %+v while it should wait", a)
	default:
	}
}

func TestGateOpenGrantsCurrentTokenAtOnce(t *testing.T) {
	g, _ := newTestGate("tok1", 10)
	tk, err := acquire(g, context.Background(), 1, time.Second)
	if err != nil || tk.Token != "tok1" || tk.waited {
		t.Fatalf("got %+v, %v", tk, err)
	}
}

func TestGateRejectionPausesAndProbeReleasesInOrder(t *testing.T) {
	g, evs := newTestGate("tok1", 100)
	ctx := context.Background()
	first, _ := acquire(g, ctx, 1, time.Minute)
	g.Report(first, Rejected, &Answer{Status: 401})
	if st := g.Status(); st.State != "paused" {
		t.Fatalf("state after rejection = %s, want paused", st.State)
	}
	// Calls 1..5 wait; they are queued out of arrival order on purpose.
	chans := map[uint64]<-chan acquired{}
	for _, seq := range []uint64{3, 1, 5, 2, 4} {
		chans[seq] = acquireAsync(g, ctx, seq, time.Minute)
		s := seq
		testwait.Until(t, 5*time.Second, "call to queue", func() bool { return g.Status().Waiting == len(chans) && s > 0 })
	}
	for _, ch := range chans {
		notReady(t, ch)
	}
	g.SetToken("tok2")
	probe := recv(t, chans[1])
	if probe.t.Token != "tok2" || !probe.t.probe {
		t.Fatalf("oldest call got %+v, want the probe with tok2", probe.t)
	}
	for seq := uint64(2); seq <= 5; seq++ {
		notReady(t, chans[seq])
	}
	g.Report(probe.t, Accepted, nil)
	for seq := uint64(2); seq <= 5; seq++ {
		a := recv(t, chans[seq])
		if a.err != nil || a.t.Token != "tok2" || a.t.probe {
			t.Fatalf("call %d got %+v %v", seq, a.t, a.err)
		}
	}
	got := evs.list()
	if len(got) != 2 || got[0].Kind != Paused || got[0].Token != "tok1" || got[1].Kind != Resumed || got[1].Replayed != 5 {
		t.Fatalf("events = %+v", got)
	}
	if st := g.Status(); st.State != "ok" || st.Waiting != 0 {
		t.Fatalf("status after resume = %+v", st)
	}
}

func TestGateNewTokenRejectedTooStaysPaused(t *testing.T) {
	g, evs := newTestGate("tok1", 100)
	ctx := context.Background()
	tk, _ := acquire(g, ctx, 1, time.Minute)
	g.Report(tk, Rejected, nil)
	a := acquireAsync(g, ctx, 1, time.Minute)
	b := acquireAsync(g, ctx, 2, time.Minute)
	testwait.Until(t, 5*time.Second, "two waiting", func() bool { return g.Status().Waiting == 2 })
	g.SetToken("tok2")
	probe := recv(t, a)
	g.Report(probe.t, Rejected, nil)
	notReady(t, b)
	if st := g.Status(); st.State != "paused" || st.Token != "tok2" {
		t.Fatalf("status = %+v, want paused on tok2", st)
	}
	// The rejected probe goes back to the queue, still the oldest.
	a = acquireAsync(g, ctx, 1, time.Minute)
	testwait.Until(t, 5*time.Second, "probe requeued", func() bool { return g.Status().Waiting == 2 })
	g.SetToken("tok3")
	probe = recv(t, a)
	if probe.t.Token != "tok3" {
		t.Fatalf("second probe token %q", probe.t.Token)
	}
	g.Report(probe.t, Accepted, nil)
	if got := recv(t, b); got.t.Token != "tok3" {
		t.Fatalf("released with %q", got.t.Token)
	}
	if e := evs.list(); len(e) != 3 || !e[1].Again {
		t.Fatalf("events %+v, want pause, pause again, resume", e)
	}
}

func TestGateStaleRejectionDoesNotPause(t *testing.T) {
	g, evs := newTestGate("tok1", 10)
	tk, _ := acquire(g, context.Background(), 1, time.Minute)
	g.SetToken("tok2") // swapped while the call was in flight
	g.Report(tk, Rejected, nil)
	if st := g.Status(); st.State != "ok" {
		t.Fatalf("state %s after a stale rejection", st.State)
	}
	again, err := acquire(g, context.Background(), 1, time.Minute)
	if err != nil || again.Token != "tok2" || again.waited {
		t.Fatalf("replay got %+v %v, want tok2 at once", again, err)
	}
	if len(evs.list()) != 0 {
		t.Fatalf("events %+v", evs.list())
	}
}

func TestGateWritingTheRejectedTokenBackKeepsPaused(t *testing.T) {
	g, _ := newTestGate("tok1", 10)
	tk, _ := acquire(g, context.Background(), 1, time.Minute)
	g.Report(tk, Rejected, nil)
	g.SetToken("tok2")
	g.SetToken("tok1")
	a := acquireAsync(g, context.Background(), 2, time.Minute)
	testwait.Until(t, 5*time.Second, "queued", func() bool { return g.Status().Waiting == 1 })
	notReady(t, a)
}

func TestGateGivingUp(t *testing.T) {
	t.Run("a waiting call times out with ErrPauseTimeout", func(t *testing.T) {
		g, _ := newTestGate("tok1", 10)
		g.Revoke(nil)
		_, err := acquire(g, context.Background(), 1, 20*time.Millisecond)
		if !errors.Is(err, ErrPauseTimeout) {
			t.Fatalf("err %v", err)
		}
		if g.Status().Waiting != 0 {
			t.Fatal("timed-out call still counted as waiting")
		}
	})
	t.Run("a cancelled call leaves the queue", func(t *testing.T) {
		g, _ := newTestGate("tok1", 10)
		g.Revoke(nil)
		ctx, cancel := context.WithCancel(context.Background())
		a := acquireAsync(g, ctx, 1, time.Minute)
		testwait.Until(t, 5*time.Second, "queued", func() bool { return g.Status().Waiting == 1 })
		cancel()
		if got := recv(t, a); !errors.Is(got.err, context.Canceled) {
			t.Fatalf("err %v", got.err)
		}
		if g.Status().Waiting != 0 {
			t.Fatal("cancelled call still waiting")
		}
	})
	t.Run("beyond max_queued a call is refused at once", func(t *testing.T) {
		g, _ := newTestGate("tok1", 2)
		g.Revoke(nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, b := acquireAsync(g, ctx, 1, time.Minute), acquireAsync(g, ctx, 2, time.Minute)
		testwait.Until(t, 5*time.Second, "two queued", func() bool { return g.Status().Waiting == 2 })
		if _, err := acquire(g, ctx, 3, time.Minute); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("err %v", err)
		}
		cancel()
		recv(t, a)
		recv(t, b)
	})
	t.Run("a probe whose program leaves hands the probe to the next", func(t *testing.T) {
		g, _ := newTestGate("tok1", 10)
		g.Revoke(nil)
		a := acquireAsync(g, context.Background(), 1, time.Minute)
		b := acquireAsync(g, context.Background(), 2, time.Minute)
		testwait.Until(t, 5*time.Second, "two queued", func() bool { return g.Status().Waiting == 2 })
		g.SetToken("tok2")
		probe := recv(t, a)
		g.Report(probe.t, Unknown, nil)
		next := recv(t, b)
		if !next.t.probe || next.t.Token != "tok2" {
			t.Fatalf("next got %+v", next.t)
		}
	})
	t.Run("closing answers every waiting call", func(t *testing.T) {
		g, _ := newTestGate("", 10)
		a := acquireAsync(g, context.Background(), 1, time.Minute)
		testwait.Until(t, 5*time.Second, "queued", func() bool { return g.Status().Waiting == 1 })
		g.Close(ErrClosed)
		if got := recv(t, a); !errors.Is(got.err, ErrClosed) {
			t.Fatalf("err %v", got.err)
		}
	})
}

func TestGateWithNoTokenWaitsForOne(t *testing.T) {
	g, _ := newTestGate("", 10)
	a := acquireAsync(g, context.Background(), 1, time.Minute)
	testwait.Until(t, 5*time.Second, "queued", func() bool { return g.Status().Waiting == 1 })
	g.SetToken("tok1")
	got := recv(t, a)
	if got.t.Token != "tok1" {
		t.Fatalf("got %+v", got.t)
	}
	g.Report(got.t, Accepted, nil)
	if g.Status().State != "ok" {
		t.Fatal("not open after the first accepted call")
	}
}

// TestGateManyWaitersAndARacingReload hammers the gate: many goroutines send
// calls that are rejected while a reload races them. Whatever the
// interleaving, no caller is granted the rejected token twice (once the
// gate knows a token is bad it never hands it out again), and every call
// ends accepted with the new token.
func TestGateManyWaitersAndARacingReload(t *testing.T) {
	for round := 0; round < 20; round++ {
		g, _ := newTestGate("bad", 10000)
		var wg sync.WaitGroup
		var done atomic.Int64
		const callers = 200
		start := make(chan struct{})
		for i := 0; i < callers; i++ {
			wg.Add(1)
			go func(seq uint64) {
				defer wg.Done()
				<-start
				bad := 0
				for {
					tk, err := acquire(g, context.Background(), seq, time.Minute)
					if err != nil {
						t.Errorf("acquire: %v", err)
						return
					}
					if tk.Token == "bad" {
						if bad++; bad > 1 {
							t.Errorf("caller %d was granted the rejected token twice", seq)
							return
						}
						g.Report(tk, Rejected, nil)
						continue
					}
					g.Report(tk, Accepted, nil)
					done.Add(1)
					return
				}
			}(uint64(i))
		}
		close(start)
		g.SetToken("good") // races the first rejections
		wg.Wait()
		if done.Load() != callers {
			t.Fatalf("round %d: %d of %d calls finished", round, done.Load(), callers)
		}
		if st := g.Status(); st.State != "ok" || st.Waiting != 0 {
			t.Fatalf("round %d: gate %+v at the end", round, st)
		}
	}
}

func TestJoinNotifyAndPoll(t *testing.T) {
	t.Run("an open gate answers Join at once, with no place", func(t *testing.T) {
		g, _ := newTestGate("tok", 10)
		tk, place, err := g.Join(1)
		if place != nil || err != nil || tk.Token != "tok" {
			t.Fatalf("Join = %+v, %v, %v", tk, place, err)
		}
	})
	t.Run("a paused gate gives a place; Notify wakes when the probe is granted", func(t *testing.T) {
		g, _ := newTestGate("", 10)
		_, place, err := g.Join(1)
		if place == nil || err != nil {
			t.Fatalf("Join on a paused gate: place %v, err %v", place, err)
		}
		woken := make(chan struct{})
		place.Notify(func() { close(woken) })
		select {
		case <-woken:
			t.Fatal("woken while paused")
		default:
		}
		g.SetToken("new")
		<-woken
		tk, err := place.Poll(ErrPauseTimeout)
		if err != nil || tk.Token != "new" || !tk.probe || !tk.waited {
			t.Fatalf("Poll after the grant = %+v, %v", tk, err)
		}
	})
	t.Run("Notify on a place already answered wakes at once", func(t *testing.T) {
		g, _ := newTestGate("", 10)
		_, place, _ := g.Join(1)
		g.Close(ErrClosed)
		called := false
		place.Notify(func() { called = true })
		if !called {
			t.Fatal("not woken")
		}
		if _, err := place.Poll(ErrPauseTimeout); !errors.Is(err, ErrClosed) {
			t.Fatalf("Poll after Close: %v", err)
		}
	})
	t.Run("Poll before an answer gives the place up", func(t *testing.T) {
		g, _ := newTestGate("", 10)
		_, first, _ := g.Join(1)
		_, second, _ := g.Join(2)
		if _, err := first.Poll(context.Canceled); !errors.Is(err, context.Canceled) {
			t.Fatalf("Poll = %v, want the error given", err)
		}
		if n := g.Status().Waiting; n != 1 {
			t.Fatalf("waiting after Poll: %d, want 1", n)
		}
		g.SetToken("new") // the probe goes to the next oldest: second
		if tk, err := waitAt(second, context.Background(), time.Second); err != nil || !tk.probe {
			t.Fatalf("second = %+v, %v, want the probe", tk, err)
		}
	})
}

// WaitLimit measures a wait against a limit that a reload may change.
func TestWaitLimitFollowsAChangingLimit(t *testing.T) {
	t.Run("a limit cut short while waiting gives up with ErrPauseTimeout", func(t *testing.T) {
		g, _ := newTestGate("", 10)
		_, place, _ := g.Join(1)
		changed := make(chan struct{})
		var cut atomic.Bool
		done := make(chan error, 1)
		go func() {
			_, err := place.WaitLimit(context.Background(), func() (time.Duration, <-chan struct{}) {
				if cut.Load() {
					return 0, nil
				}
				return time.Hour, changed
			})
			done <- err
		}()
		cut.Store(true)
		close(changed)
		select {
		case err := <-done:
			if !errors.Is(err, ErrPauseTimeout) {
				t.Fatalf("WaitLimit = %v, want ErrPauseTimeout", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("WaitLimit kept waiting under a limit of 0")
		}
		if n := g.Status().Waiting; n != 0 {
			t.Errorf("waiting after giving up: %d, want 0", n)
		}
	})
	t.Run("a limit extended while waiting keeps the call waiting for its ticket", func(t *testing.T) {
		g, _ := newTestGate("", 10)
		_, place, _ := g.Join(1)
		asked := make(chan struct{}, 10)
		var calls atomic.Int32
		done := make(chan acquired, 1)
		go func() {
			tk, err := place.WaitLimit(context.Background(), func() (time.Duration, <-chan struct{}) {
				asked <- struct{}{}
				if calls.Add(1) == 1 {
					return time.Millisecond, nil // the first limit passes at once
				}
				return time.Hour, nil // then a reload extended it
			})
			done <- acquired{tk, err}
		}()
		for range 2 {
			select {
			case <-asked:
			case <-time.After(10 * time.Second):
				t.Fatal("WaitLimit did not ask the limit again when the first one passed")
			}
		}
		g.SetToken("new")
		select {
		case a := <-done:
			if a.err != nil || a.t.Token != "new" {
				t.Fatalf("WaitLimit = %+v, %v, want the new token", a.t, a.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no ticket")
		}
	})
}

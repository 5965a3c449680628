// Package gate holds each profile's pause/resume state machine: calls take
// a Ticket for the current token, report what Notion said to it, and wait
// in arrival order while the token is rejected, to be replayed when a new
// one is accepted (docs/design.md#the-gate-pause-and-replay). It knows
// nothing of HTTP beyond the Answer it keeps for calls that give up
// waiting.
package gate

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"
)

// The gate is the pause/resume state machine of one profile (docs/design.md#the-gate-pause-and-replay).
//
// States:
//
//	open     calls take the current token and go.
//	paused   the current token was rejected (or there is none yet): calls
//	         queue in arrival order; nothing is sent.
//	probing  a new token was written while paused: exactly one call (the
//	         oldest waiting one, or the first to arrive if none waits) is
//	         granted the new token as a probe; the others keep waiting.
//
// Transitions:
//
//	open    --Report(Rejected, current token)--> paused
//	open    --SetToken("")-----------------------> paused (no token)
//	paused  --SetToken(t), t != rejected, t != ""--> probing
//	probing --Report(Accepted, probe)-------------> open  (queue released in order)
//	probing --Report(Rejected, probe)-------------> paused on the new token
//	probing --Report(Unknown, probe)--------------> probing (next oldest probes)
//	probing --SetToken(rejected or "")------------> paused
//	any     --Revoke()--------------------------> paused on the current token
//
// Invariants, true whenever mu is not held:
//
//   - state == open implies queue is empty and token != "".
//   - state == paused implies token == rejected, and no ticket holding the
//     current token is granted while paused: the proxy never sends Notion a
//     call with a token it knows to be rejected.
//   - state == probing implies at most one probe ticket (probeOut) holds the
//     current token; a report from a ticket for another token never changes
//     the state, except that a Rejected report can only pause the token it
//     names when that token is current.
//   - queue is sorted by arrival sequence; grants leave it in that order.
type Gate struct {
	maxQueued int
	now       func() time.Time
	notify    func(Event)

	mu          sync.Mutex
	state       gateState
	token       string
	rejected    string
	rejection   *Answer
	pausedSince time.Time
	probeOut    bool
	queue       []*waiter
	closed      error // why the gate was closed (nil: open for business)
	replayed    int   // calls released from the queue in this pause episode
}

type gateState int

const (
	gateOpen gateState = iota
	gatePaused
	gateProbing
)

// String names the state as the comment at the top does.
func (s gateState) String() string {
	switch s {
	case gateOpen:
		return "open"
	case gateProbing:
		return "probing"
	}
	return "paused"
}

// statusWord is the state as /-/status gives it: "ok" when open, "paused"
// otherwise (probing is a pause whose new token is being tried).
func (s gateState) statusWord() string {
	if s == gateOpen {
		return "ok"
	}
	return "paused"
}

// Verdict is what a call's answer says about the token it was sent with.
type Verdict int

const (
	// Accepted: Notion answered with anything but an invalid-token answer.
	Accepted Verdict = iota
	// Rejected: Notion answered with an invalid-token answer.
	Rejected
	// Unknown: no answer (transport error, or the program went away).
	Unknown
)

// Ticket is a permission to send one call with Token.
type Ticket struct {
	Token  string
	probe  bool
	waited bool // the call queued before getting it
}

// Waited reports whether the call queued before getting its ticket (or
// gave up waiting): it is then a replay after a pause.
func (t Ticket) Waited() bool { return t.waited }

// Answer is a complete upstream answer, kept so that a call that gives up
// waiting gets exactly what Notion said.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// EventKind says which transition a Event tells of.
type EventKind int

const (
	// Paused: the gate paused (a token was rejected, or there is none).
	Paused EventKind = iota + 1
	// Resumed: a probe was accepted and the queue released.
	Resumed
)

// Event tells the gate's owner about a transition, outside the gate's
// lock.
type Event struct {
	Kind        EventKind
	Token       string        // Paused: the rejected token ("" = no token yet)
	Again       bool          // Paused: a new token was rejected while paused
	PausedFor   time.Duration // Resumed
	Replayed    int           // Resumed: calls released after the pause
	PausedSince time.Time
}

// Errors a call's wait ends with (Join, Place.WaitLimit, Place.Poll).
var (
	// ErrQueueFull: pause.max_queued calls already wait.
	ErrQueueFull = errors.New("too many calls waiting for a token")
	// ErrPauseTimeout: the call waited its whole pause.timeout.
	ErrPauseTimeout = errors.New("gave up waiting for a new token")
	// ErrClosed: the proxy is shutting down (Close at shutdown).
	ErrClosed = errors.New("proxy is shutting down")
	// ErrProfileRemoved: a reload removed the call's profile.
	ErrProfileRemoved = errors.New("profile removed from the config")
)

// GaveUp reports whether err is the gate's own end to a call's wait (not
// the call's context): the call then gets its 401.
func GaveUp(err error) bool {
	return errors.Is(err, ErrPauseTimeout) || errors.Is(err, ErrQueueFull) ||
		errors.Is(err, ErrClosed) || errors.Is(err, ErrProfileRemoved)
}

type waiter struct {
	err     error // set instead of ticket when the gate closes
	seq     uint64
	ready   chan struct{}
	wake    func() // Place.Notify's
	ticket  Ticket
	granted bool
}

// New returns a gate holding token (paused when token is ""). notify may
// be nil; it is called without the gate's lock held.
func New(token string, maxQueued int, now func() time.Time, notify func(Event)) *Gate {
	g := &Gate{maxQueued: maxQueued, now: now, notify: notify, token: token}
	if token == "" {
		g.state, g.pausedSince = gatePaused, now()
	}
	return g
}

// Join asks for a ticket to send a call with the current token. seq is the
// call's arrival sequence number: waiting calls are released oldest first.
// It returns a ticket (or ErrQueueFull, or the error the gate was closed
// with) when the gate answers at once, or the call's Place in the queue
// when it must wait. The call holds its place, in arrival order, until it
// is answered or gives the place up. A place is waited for once: by
// WaitLimit, or by Notify and then Poll (a parked call).
func (g *Gate) Join(seq uint64) (Ticket, *Place, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed != nil && g.state != gateOpen:
		return Ticket{}, nil, g.closed
	case g.state == gateOpen:
		return Ticket{Token: g.token}, nil, nil
	case g.state == gateProbing && !g.probeOut && len(g.queue) == 0:
		g.probeOut = true
		return Ticket{Token: g.token, probe: true}, nil, nil
	case len(g.queue) >= g.maxQueued:
		return Ticket{}, nil, ErrQueueFull
	}
	w := &waiter{seq: seq, ready: make(chan struct{})}
	i := sort.Search(len(g.queue), func(i int) bool { return g.queue[i].seq > seq })
	g.queue = append(g.queue, nil)
	copy(g.queue[i+1:], g.queue[i:])
	g.queue[i] = w
	g.dispatch()
	return Ticket{}, &Place{g: g, w: w}, nil
}

// Place is a call's place in a paused gate's queue, from Join.
type Place struct {
	g *Gate
	w *waiter
}

// WaitLimit waits for the place's ticket. It gives up with ctx.Err() when
// ctx ends, and with ErrPauseTimeout once limit says no time is left.
// The limit may change while the call waits (pause.timeout reloaded):
// limit returns how much longer the call may wait now, and a channel
// closed when that may have changed (nil: it will not), at which
// WaitLimit asks limit again.
func (p *Place) WaitLimit(ctx context.Context, limit func() (time.Duration, <-chan struct{})) (Ticket, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		left, changed := limit()
		if left <= 0 {
			return p.leave(ErrPauseTimeout)
		}
		if timer == nil {
			timer = time.NewTimer(left)
		} else {
			timer.Reset(left)
		}
		select {
		case <-p.w.ready:
			return p.w.ticket, p.w.err
		case <-ctx.Done():
			return p.leave(ctx.Err())
		case <-timer.C:
		case <-changed:
		}
	}
}

// Notify arranges for wake to be called once the gate has answered the
// place, at once if it already has. wake is called with the gate's lock
// held: it must not block, nor call the gate.
func (p *Place) Notify(wake func()) {
	p.g.mu.Lock()
	defer p.g.mu.Unlock()
	if p.w.granted {
		wake()
		return
	}
	p.w.wake = wake
}

// Poll returns the gate's answer if it has answered the place; if not, it
// gives the place up and returns err.
func (p *Place) Poll(err error) (Ticket, error) {
	g, w := p.g, p.w
	select {
	case <-w.ready:
		// Answered: no need for the lock, which a release of many calls
		// at once would make them queue for.
		return w.ticket, w.err
	default:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.granted {
		return w.ticket, w.err
	}
	g.remove(w)
	return Ticket{waited: true}, err
}

// leave gives the place up after WaitLimit stopped waiting with err.
func (p *Place) leave(err error) (Ticket, error) {
	g, w := p.g, p.w
	g.mu.Lock()
	defer g.mu.Unlock()
	if !w.granted {
		g.remove(w)
		return Ticket{waited: true}, err
	}
	// Granted while giving up: hand a probe slot back.
	if w.ticket.probe && w.ticket.Token == g.token {
		g.probeOut = false
		g.dispatch()
	}
	return Ticket{waited: true}, err
}

// Report tells the gate what Notion answered to a call sent with t. answer
// is kept (for Rejected) as the answer given to calls that give up waiting.
func (g *Gate) Report(t Ticket, v Verdict, answer *Answer) {
	g.mu.Lock()
	var ev *Event
	if t.probe && t.Token == g.token {
		g.probeOut = false
	}
	switch v {
	case Rejected:
		if t.Token == g.token && g.state != gatePaused {
			ev = g.pause(t.Token, answer)
		}
	case Accepted:
		if t.probe && t.Token == g.token && g.state == gateProbing {
			ev = &Event{Kind: Resumed, PausedFor: g.now().Sub(g.pausedSince),
				Replayed: g.replayed + len(g.queue), PausedSince: g.pausedSince}
			g.state, g.rejected, g.rejection, g.replayed = gateOpen, "", nil, 0
		}
	}
	g.dispatch()
	g.mu.Unlock()
	g.emit(ev)
}

// SetToken makes tok the current token. Writing a token other than the
// rejected one to a paused gate starts a probe.
func (g *Gate) SetToken(tok string) {
	g.mu.Lock()
	if tok == g.token {
		g.mu.Unlock()
		return
	}
	g.token, g.probeOut = tok, false
	var ev *Event
	switch {
	case tok == "":
		if g.state == gateOpen {
			ev = g.pause("", nil)
		} else {
			g.state, g.rejected = gatePaused, ""
		}
	case g.state == gateOpen:
	case tok == g.rejected:
		g.state = gatePaused
	default:
		g.state = gateProbing
	}
	g.dispatch()
	g.mu.Unlock()
	g.emit(ev)
}

// Revoke treats the current token as rejected, as if Notion had answered an
// invalid-token answer for it.
func (g *Gate) Revoke(answer *Answer) {
	g.mu.Lock()
	var ev *Event
	if g.state != gatePaused {
		g.probeOut = false
		ev = g.pause(g.token, answer)
	}
	g.mu.Unlock()
	g.emit(ev)
}

// Rejection returns the answer that rejected the current pause's token, or
// nil (no token yet, or not paused).
func (g *Gate) Rejection() *Answer {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rejection
}

// Token returns the current token ("" = none).
func (g *Gate) Token() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.token
}

// Status is a snapshot of a gate for /-/status.
type Status struct {
	State       string // "ok" or "paused"
	Token       string // the current token (callers fingerprint it)
	Waiting     int
	PausedSince time.Time // zero when ok
	Probing     bool      // paused with a new token that no call has tried yet (or is trying)
}

// Status returns a snapshot of the gate.
func (g *Gate) Status() Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := Status{State: g.state.statusWord(), Token: g.token, Waiting: len(g.queue), Probing: g.state == gateProbing}
	if g.state != gateOpen {
		s.PausedSince = g.pausedSince
	}
	return s
}

// pause moves to paused on tok. Called with mu held.
func (g *Gate) pause(tok string, answer *Answer) *Event {
	again := g.state == gateProbing
	if !again {
		g.pausedSince, g.replayed = g.now(), 0
	}
	g.state, g.rejected, g.rejection = gatePaused, tok, answer
	return &Event{Kind: Paused, Token: tok, Again: again, PausedSince: g.pausedSince}
}

// dispatch grants what the state allows. Called with mu held.
func (g *Gate) dispatch() {
	switch g.state {
	case gateOpen:
		for _, w := range g.queue {
			g.grant(w, false)
		}
		clear(g.queue)
		g.queue = g.queue[:0]
	case gateProbing:
		if !g.probeOut && len(g.queue) > 0 {
			w := g.queue[0]
			g.queue = g.queue[1:]
			g.probeOut = true
			g.replayed++
			g.grant(w, true)
		}
	}
}

func (g *Gate) grant(w *waiter, probe bool) {
	w.ticket, w.granted = Ticket{Token: g.token, probe: probe, waited: true}, true
	w.answered()
}

// answered wakes the waiter, which has its ticket or error. Called with
// mu held. wake comes first: whoever sees ready closed sees its effect.
func (w *waiter) answered() {
	if w.wake != nil {
		w.wake()
	}
	close(w.ready)
}

func (g *Gate) remove(w *waiter) {
	for i, q := range g.queue {
		if q == w {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return
		}
	}
}

func (g *Gate) emit(ev *Event) {
	if ev != nil && g.notify != nil {
		g.notify(*ev)
	}
}

// Close answers every waiting call with err (ErrClosed at shutdown,
// ErrProfileRemoved when a reload removed the profile), and every later
// Join while paused too. An open gate keeps granting: calls in flight
// finish during a graceful shutdown.
func (g *Gate) Close(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = err
	for _, w := range g.queue {
		w.err, w.granted, w.ticket.waited = err, true, true
		w.answered()
	}
	clear(g.queue)
	g.queue = g.queue[:0]
}

// SetMaxQueued changes the queue limit; calls already queued stay.
func (g *Gate) SetMaxQueued(n int) {
	g.mu.Lock()
	g.maxQueued = n
	g.mu.Unlock()
}

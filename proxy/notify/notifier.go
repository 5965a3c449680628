package notify

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Config says where events go; the zero Config sends nowhere (events are
// still kept for Recent).
type Config struct {
	// Command is run without a shell for each event, the event as one
	// line of JSON on stdin and its kind, profile and text in the
	// environment (NOTION_PROXY_EVENT, NOTION_PROXY_PROFILE,
	// NOTION_PROXY_TEXT), and of the proxy's environment only what
	// commandEnv lets through (never a secret). Empty: no command.
	Command []string
	// Webhook receives each event as a JSON POST. "": no webhook. It is a
	// secret (Slack's are): it is never logged whole.
	Webhook string
}

// Options holds what a Notifier takes from its owner besides the Config.
type Options struct {
	// Logger receives failures (never a token nor a whole webhook URL).
	Logger zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Client posts to the webhook; nil means a client of the Notifier's
	// own: 10 s timeout, and never through a proxy from the environment,
	// which may be notion-proxy itself.
	Client *http.Client
	// Outcome, if set, is told each delivery's end: sink "command" or
	// "webhook", outcome "ok", "failed" or "dropped" (a full queue). It
	// must not block.
	Outcome func(sink, outcome string)
	// RetryMin is the webhook's first back-off (default 250 ms; it
	// doubles up to 30 s); RetryFor bounds how long after the event it is
	// retried (default 5 min).
	RetryMin, RetryFor time.Duration
	// Coalesce is how long GaveUp events of one profile and reason are
	// summed before they go as one (default 200 ms).
	Coalesce time.Duration
	// CommandTimeout is how long one run of the command may take before
	// it is killed (default 30 s).
	CommandTimeout time.Duration
}

// Bounds of the queues and of one delivery.
const (
	queueSize      = 64               // events waiting per sink (per profile for commands)
	recentSize     = 20               // events kept per profile for Recent
	commandTimeout = 30 * time.Second // default of Options.CommandTimeout
	webhookTimeout = 10 * time.Second
	retryMax       = 30 * time.Second
)

// Sinks, as told to Options.Outcome.
const (
	SinkCommand = "command"
	SinkWebhook = "webhook"
)

// Outcomes, as told to Options.Outcome.
const (
	OutcomeOK      = "ok"
	OutcomeFailed  = "failed"
	OutcomeDropped = "dropped"
)

// Notifier delivers events to the configured command and webhook from
// goroutines of its own: Notify never waits for a delivery. The owner must
// call Close.
type Notifier struct {
	log      zerolog.Logger
	now      func() time.Time
	client   *http.Client
	outcome  func(sink, outcome string)
	retryMin time.Duration
	retryFor time.Duration
	coalesce time.Duration
	cmdLimit time.Duration

	cfg     atomic.Pointer[Config]
	ctx     context.Context // ends when Close gives up waiting
	cancel  context.CancelFunc
	closing chan struct{} // closed by Close: deliver what is queued, retry nothing
	workers sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	recent   map[string][]Event
	pending  map[pendingKey]*pendingGaveUp
	webhook  *queue
	commands map[string]*queue // by profile: never two commands at once for one profile
}

type pendingKey struct{ profile, reason string }

type pendingGaveUp struct {
	ev    Event
	timer *time.Timer
}

// New starts a Notifier sending to cfg.
func New(cfg Config, opts Options) *Notifier {
	n := &Notifier{
		log: opts.Logger, now: opts.Now, client: opts.Client, outcome: opts.Outcome,
		retryMin: opts.RetryMin, retryFor: opts.RetryFor, coalesce: opts.Coalesce, cmdLimit: opts.CommandTimeout,
		closing: make(chan struct{}), recent: make(map[string][]Event),
		pending: make(map[pendingKey]*pendingGaveUp), commands: make(map[string]*queue),
		webhook: newQueue(),
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.client == nil {
		n.client = &http.Client{Timeout: webhookTimeout, Transport: &http.Transport{Proxy: nil}}
	}
	if n.outcome == nil {
		n.outcome = func(string, string) {}
	}
	if n.retryMin <= 0 {
		n.retryMin = 250 * time.Millisecond
	}
	if n.retryFor <= 0 {
		n.retryFor = 5 * time.Minute
	}
	if n.coalesce <= 0 {
		n.coalesce = 200 * time.Millisecond
	}
	if n.cmdLimit <= 0 {
		n.cmdLimit = commandTimeout
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.SetConfig(cfg)
	n.workers.Go(func() { n.work(n.webhook, n.postWithRetry) })
	return n
}

// SetConfig makes cfg the destinations of the events delivered from now on
// (a config reload). Queued events go to the new destinations.
func (n *Notifier) SetConfig(cfg Config) {
	c := cfg
	c.Command = append([]string(nil), cfg.Command...)
	n.cfg.Store(&c)
}

// Notify queues ev for delivery and keeps it for Recent; it never waits.
// ev.Time is set to now when zero, ev.Text by Describe when empty. GaveUp
// events of one profile and reason that come within Options.Coalesce of
// the first go as one, their Calls summed.
func (n *Notifier) Notify(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = n.now()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if ev.Event == GaveUp {
		key := pendingKey{ev.Profile, ev.Reason}
		if p := n.pending[key]; p != nil {
			p.ev.Calls += ev.Calls
			return
		}
		n.pending[key] = &pendingGaveUp{ev: ev, timer: time.AfterFunc(n.coalesce, func() { n.flushGaveUp(key) })}
		return
	}
	n.dispatch(ev)
}

func (n *Notifier) flushGaveUp(key pendingKey) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.pending[key]; p != nil && !n.closed {
		delete(n.pending, key)
		n.dispatch(p.ev)
	}
}

// dispatch keeps ev and queues it for each configured sink. Called with mu
// held.
func (n *Notifier) dispatch(ev Event) {
	if ev.Text == "" {
		ev.Text = Describe(ev)
	}
	r := append(n.recent[ev.Profile], ev)
	if len(r) > recentSize {
		r = append([]Event(nil), r[len(r)-recentSize:]...)
	}
	n.recent[ev.Profile] = r
	cfg := n.cfg.Load()
	if cfg.Webhook != "" && n.webhook.push(ev) {
		n.outcome(SinkWebhook, OutcomeDropped)
		n.log.Warn().Str("event", ev.Event).Msg("notify webhook queue full: the oldest event was dropped")
	}
	if len(cfg.Command) > 0 {
		q := n.commands[ev.Profile]
		if q == nil {
			q = newQueue()
			n.commands[ev.Profile] = q
			n.workers.Go(func() { n.work(q, n.runCommand) })
		}
		if q.push(ev) {
			n.outcome(SinkCommand, OutcomeDropped)
			n.log.Warn().Str("event", ev.Event).Str("profile", ev.Profile).
				Msg("notify command queue full: the oldest event was dropped")
		}
	}
}

// Recent returns the last events about profile ("" = the whole config),
// oldest first, at most 20.
func (n *Notifier) Recent(profile string) []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Event(nil), n.recent[profile]...)
}

// Close sends the GaveUp events being summed, delivers what is queued
// without retrying, and stops. When ctx ends first, deliveries in progress
// are abandoned (commands killed). Later Notify calls are ignored.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	for key, p := range n.pending {
		p.timer.Stop()
		delete(n.pending, key)
		n.dispatch(p.ev)
	}
	n.closed = true
	close(n.closing)
	n.mu.Unlock()

	done := make(chan struct{})
	go func() { n.workers.Wait(); close(done) }()
	defer n.client.CloseIdleConnections()
	select {
	case <-done:
		n.cancel()
		return nil
	case <-ctx.Done():
		n.cancel()
		<-done
		return ctx.Err()
	}
}

// work delivers q's events one at a time until Close.
func (n *Notifier) work(q *queue, deliver func(Event)) {
	for {
		if ev, ok := q.pop(); ok {
			deliver(ev)
			continue
		}
		select {
		case <-q.wake:
		case <-n.closing:
			if q.empty() {
				return
			}
		}
	}
}

// isClosing reports whether Close has been called.
func (n *Notifier) isClosing() bool {
	select {
	case <-n.closing:
		return true
	default:
		return false
	}
}

// queue is a bounded FIFO of events: a push to a full queue drops the
// oldest.
type queue struct {
	mu    sync.Mutex
	items []Event
	wake  chan struct{} // capacity 1: signalled on push
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

// push adds ev and reports whether the oldest event was dropped for it.
func (q *queue) push(ev Event) (dropped bool) {
	q.mu.Lock()
	if len(q.items) >= queueSize {
		q.items = append(q.items[:0], q.items[1:]...)
		dropped = true
	}
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return dropped
}

func (q *queue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Event{}, false
	}
	ev := q.items[0]
	q.items = q.items[1:]
	return ev, true
}

func (q *queue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) == 0
}

package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// receiver is a webhook endpoint that records the events posted to it and
// answers the first failFirst posts with 500.
type receiver struct {
	srv       *httptest.Server
	mu        sync.Mutex
	posts     int
	events    []Event
	failFirst int
	got       chan struct{}
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst, got: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.posts++
		fail := r.posts <= r.failFirst
		if !fail {
			var ev Event
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Errorf("webhook body is not an event: %v: %s", err, body)
			}
			r.events = append(r.events, ev)
		}
		r.mu.Unlock()
		if fail {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		r.got <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) snapshot() (int, []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts, append([]Event(nil), r.events...)
}

// outcomes counts Options.Outcome reports.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) add(sink, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[sink+" "+outcome]++
}

func (o *outcomes) get(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[key]
}

func closeNotifier(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// noLeaks checks, after every other cleanup, that no goroutine is left.
func noLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func intp(n int) *int { return &n }

func TestWebhookEventArrivesOnTheRetryAfterA500(t *testing.T) {
	noLeaks(t)
	r := newReceiver(t, 1)
	var logs bytes.Buffer
	var o outcomes
	n := New(Config{Webhook: r.srv.URL + "/hooks/T000/SECRETPATH"}, Options{
		Logger: zerolog.New(&logs), Outcome: o.add, RetryMin: 10 * time.Millisecond})
	n.Notify(Event{Event: Paused, Profile: "default", Token: "ntn_…a1b2 #3f9c0e", Waiting: intp(2), Do: "Regenerate it."})
	testwait.Until(t, 10*time.Second, "the event on the retry", func() bool { _, evs := r.snapshot(); return len(evs) == 1 })
	closeNotifier(t, n)
	posts, evs := r.snapshot()
	if posts != 2 {
		t.Errorf("%d posts, want the failed one and its retry", posts)
	}
	ev := evs[0]
	if ev.Event != Paused || ev.Profile != "default" || ev.Time.IsZero() || ev.Token != "ntn_…a1b2 #3f9c0e" {
		t.Errorf("event %+v", ev)
	}
	for _, want := range []string{`profile "default"`, "2 calls are waiting", "Regenerate it."} {
		if !strings.Contains(ev.Text, want) {
			t.Errorf("text %q lacks %q", ev.Text, want)
		}
	}
	if o.get("webhook ok") != 1 {
		t.Errorf("outcomes %v", o.n)
	}
	if strings.Contains(logs.String(), "SECRETPATH") {
		t.Errorf("the webhook URL is logged whole:\n%s", logs.String())
	}
}

func TestWebhookGivesUpOnA4xxAndLogsNoURL(t *testing.T) {
	noLeaks(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer srv.Close()
	var logs syncBuffer
	var o outcomes
	n := New(Config{Webhook: srv.URL + "/SECRETPATH"}, Options{Logger: zerolog.New(&logs), Outcome: o.add})
	n.Notify(Event{Event: ConfigError, Error: "x.yaml:3: unknown key"})
	testwait.Until(t, 10*time.Second, "the failure to be counted", func() bool { return o.get("webhook failed") == 1 })
	closeNotifier(t, n)
	out := logs.String()
	if !strings.Contains(out, "notify webhook failed") || strings.Contains(out, "SECRETPATH") {
		t.Errorf("want a failure line without the URL's path:\n%s", out)
	}
}

func TestCommandGetsEachEventOnStdin(t *testing.T) {
	noLeaks(t)
	out := filepath.Join(t.TempDir(), "events")
	n := New(Config{Command: []string{"/bin/sh", "-c", `cat >> "$0"; echo "$NOTION_PROXY_EVENT $NOTION_PROXY_PROFILE" >> "$0.env"`, out}}, Options{})
	n.Notify(Event{Event: Paused, Profile: "a", Do: "Do it."})
	n.Notify(Event{Event: Resumed, Profile: "a", PausedFor: "3s", Replayed: intp(1)})
	n.Notify(Event{Event: ConfigError, Error: "f.yaml:1: bad"})
	closeNotifier(t, n)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one per event:\n%s", len(lines), data)
	}
	kinds := map[string]int{}
	for _, l := range lines {
		var ev Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line is not an event: %v: %s", err, l)
		}
		kinds[ev.Event]++
		if ev.Text == "" {
			t.Errorf("event without text: %s", l)
		}
	}
	if kinds[Paused] != 1 || kinds[Resumed] != 1 || kinds[ConfigError] != 1 {
		t.Errorf("events %v", kinds)
	}
	env, _ := os.ReadFile(out + ".env")
	if !strings.Contains(string(env), "paused a\n") {
		t.Errorf("environment: %s", env)
	}
}

func TestAFailingCommandIsLoggedWithItsStderr(t *testing.T) {
	noLeaks(t)
	var logs syncBuffer
	var o outcomes
	n := New(Config{Command: []string{"/bin/sh", "-c", "echo no display >&2; exit 3"}}, Options{Logger: zerolog.New(&logs), Outcome: o.add})
	n.Notify(Event{Event: Paused, Profile: "a"})
	closeNotifier(t, n)
	if o.get("command failed") != 1 || !strings.Contains(logs.String(), "no display") {
		t.Errorf("outcomes %v, logs:\n%s", o.n, logs.String())
	}
}

func TestADeadWebhookNeverBlocksNotify(t *testing.T) {
	noLeaks(t)
	stuck := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stuck:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(stuck)
	var o outcomes
	n := New(Config{Webhook: srv.URL}, Options{Outcome: o.add})
	for range 10 * queueSize {
		n.Notify(Event{Event: Paused, Profile: "a"})
	}
	// Every Notify returned while the webhook hangs; the queue kept the
	// newest events and counted the dropped ones.
	if got := o.get("webhook dropped"); got < 8*queueSize {
		t.Errorf("%d dropped, want about %d", got, 9*queueSize)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = n.Close(ctx) // abandons the hanging post
}

func TestGaveUpEventsOfOneProfileGoAsOne(t *testing.T) {
	noLeaks(t)
	r := newReceiver(t, 0)
	n := New(Config{Webhook: r.srv.URL}, Options{Coalesce: 50 * time.Millisecond})
	for range 5 {
		n.Notify(Event{Event: GaveUp, Profile: "a", Calls: 1, Reason: ReasonTimeout})
	}
	n.Notify(Event{Event: GaveUp, Profile: "b", Calls: 1, Reason: ReasonMaxQueued})
	testwait.Until(t, 10*time.Second, "two events", func() bool { _, evs := r.snapshot(); return len(evs) == 2 })
	closeNotifier(t, n)
	_, evs := r.snapshot()
	byProfile := map[string]Event{evs[0].Profile: evs[0], evs[1].Profile: evs[1]}
	if a := byProfile["a"]; a.Calls != 5 || !strings.Contains(a.Text, "5 calls") {
		t.Errorf("profile a: %+v", a)
	}
	if b := byProfile["b"]; b.Calls != 1 || !strings.Contains(b.Text, "max_queued") {
		t.Errorf("profile b: %+v", b)
	}
	if got := n.Recent("a"); len(got) != 1 || got[0].Calls != 5 {
		t.Errorf("Recent(a) = %+v", got)
	}
}

func TestRecentKeepsTheLastEvents(t *testing.T) {
	n := New(Config{}, Options{})
	for i := range recentSize + 5 {
		n.Notify(Event{Event: Resumed, Profile: "a", Replayed: intp(i)})
	}
	got := n.Recent("a")
	closeNotifier(t, n)
	if len(got) != recentSize || *got[len(got)-1].Replayed != recentSize+4 || *got[0].Replayed != 5 {
		t.Errorf("kept %d, first %d", len(got), *got[0].Replayed)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		desc string
		ev   Event
		want []string
	}{
		{"a pause names the token and what to do", Event{Event: Paused, Profile: "p", Token: "ntn_…a1b2 #3f9c0e", Waiting: intp(1), Do: "Regenerate it."},
			[]string{"rejected the token ntn_…a1b2 #3f9c0e", `profile "p"`, "1 call is waiting", "Regenerate it."}},
		{"a profile with no token yet says so", Event{Event: Paused, Profile: "p"}, []string{`profile "p" has no token yet`}},
		{"a resume says for how long and how many", Event{Event: Resumed, Profile: "p", PausedFor: "2m3s", Replayed: intp(4)},
			[]string{"after 2m3s", "4 waiting calls replayed"}},
		{"a failed refresh names its source and error", Event{Event: RefreshFailed, Profile: "p", Source: "oauth", Error: "refresh token refused (invalid_grant)"},
			[]string{"from its oauth", "invalid_grant"}},
		{"a config error has its file and line", Event{Event: ConfigError, Error: "/x.yaml:4: unknown key"}, []string{"/x.yaml:4: unknown key", "last good config"}},
		{"giving up counts the calls", Event{Event: GaveUp, Profile: "p", Calls: 3, Reason: ReasonTimeout}, []string{"3 calls", "pause.timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := Describe(tt.ev)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T0/B0/XXXX", "https://hooks.slack.com/…"},
		{"http://127.0.0.1:9/x?token=y", "http://127.0.0.1:9/…"},
		{"not a url", "(not shown)"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the notifier's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestCommandsOfOneProfileNeverRunAtOnce(t *testing.T) {
	noLeaks(t)
	out := filepath.Join(t.TempDir(), "runs")
	// A run that finds another's lock writes "overlap".
	script := `if mkdir "$0.lock" 2>/dev/null; then sleep 0.05; rmdir "$0.lock"; echo ok >> "$0"; else echo overlap >> "$0"; fi`
	n := New(Config{Command: []string{"/bin/sh", "-c", script, out}}, Options{})
	for range 5 {
		n.Notify(Event{Event: Paused, Profile: "a"})
	}
	closeNotifier(t, n)
	data, _ := os.ReadFile(out)
	if got := string(data); got != strings.Repeat("ok\n", 5) {
		t.Errorf("runs:\n%s\nwant 5 one after the other", got)
	}
}

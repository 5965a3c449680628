package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// failingDials is an http.Client whose first fail connections are refused
// before they reach the network; later ones dial as usual.
func failingDials(fail int32) (*http.Client, *atomic.Int32) {
	var dials atomic.Int32
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) <= fail {
				return nil, errors.New("connect: connection refused")
			}
			return d.DialContext(ctx, network, addr)
		},
	}}, &dials
}

func TestWebhookEventArrivesOnTheRetryAfterAConnectionError(t *testing.T) {
	noLeaks(t)
	r := newReceiver(t, 0)
	client, dials := failingDials(2)
	var o outcomes
	n := New(Config{Webhook: r.srv.URL + "/hook"}, Options{Client: client, Outcome: o.add, RetryMin: 5 * time.Millisecond})
	n.Notify(Event{Event: Paused, Profile: "a"})
	testwait.Until(t, 10*time.Second, "the event on the third attempt", func() bool { _, evs := r.snapshot(); return len(evs) == 1 })
	closeNotifier(t, n)
	if d := dials.Load(); d != 3 {
		t.Errorf("%d connections tried, want 2 refused and the one that delivered", d)
	}
	if o.get("webhook ok") != 1 || o.get("webhook failed") != 0 {
		t.Errorf("outcomes %v", o.n)
	}
}

func TestWebhookRetriesAClosedPortForRetryForThenFailsOnce(t *testing.T) {
	noLeaks(t)
	var logs syncBuffer
	var o outcomes
	n := New(Config{Webhook: "http://" + closedPort(t) + "/SECRETPATH"}, Options{
		Logger: zerolog.New(&logs).Level(zerolog.DebugLevel), Outcome: o.add,
		RetryMin: 2 * time.Millisecond, RetryFor: 50 * time.Millisecond})
	n.Notify(Event{Event: Paused, Profile: "a"})
	testwait.Until(t, 10*time.Second, "the event to be given up", func() bool { return o.get("webhook failed") == 1 })
	closeNotifier(t, n)
	out := logs.String()
	if retries := strings.Count(out, "notify webhook failed: retrying"); retries < 1 {
		t.Errorf("no retry after the connection error:\n%s", out)
	}
	if failed := strings.Count(out, "event not delivered"); failed != 1 {
		t.Errorf("%d lines saying the event was not delivered, want 1:\n%s", failed, out)
	}
	if o.get("webhook failed") != 1 || o.get("webhook ok") != 0 {
		t.Errorf("outcomes %v", o.n)
	}
	if strings.Contains(out, "SECRETPATH") {
		t.Errorf("the webhook URL is logged whole:\n%s", out)
	}
}

func TestACommandPastItsLimitIsKilledAndTheNextEventStillRuns(t *testing.T) {
	noLeaks(t)
	out := filepath.Join(t.TempDir(), "events")
	var logs syncBuffer
	var o outcomes
	// The paused event's run hangs far past any test's deadline; the next
	// event of the same profile waits for it, so it only arrives if the
	// hanging run is killed.
	script := `if [ "$NOTION_PROXY_EVENT" = paused ]; then exec sleep 600; fi; cat >> "$0"`
	n := New(Config{Command: []string{"/bin/sh", "-c", script, out}}, Options{
		Logger: zerolog.New(&logs), Outcome: o.add, CommandTimeout: 100 * time.Millisecond})
	n.Notify(Event{Event: Paused, Profile: "a"})
	n.Notify(Event{Event: Resumed, Profile: "a", PausedFor: "1s", Replayed: intp(0)})
	testwait.Until(t, 10*time.Second, "the event after the killed run", func() bool {
		data, _ := os.ReadFile(out)
		return strings.Contains(string(data), `"event":"resumed"`)
	})
	closeNotifier(t, n)
	if o.get("command failed") != 1 || o.get("command ok") != 1 {
		t.Errorf("outcomes %v", o.n)
	}
	if !strings.Contains(logs.String(), "notify command took longer than its limit: killed") {
		t.Errorf("the kill is not logged:\n%s", logs.String())
	}
}

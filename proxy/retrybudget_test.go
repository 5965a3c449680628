package proxy

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A call has one retry.max_wait budget: what it waited for the rate-limit
// scheduler and what it slept before resends come out of the same one, so
// a call never waits about twice max_wait.
func TestOneWaitBudgetPerCall(t *testing.T) {
	const tok = "ntn_budget_0123456789abcdefghijklmnopqrstuv"
	_, srv, _ := serveAgainstFake(t, zerolog.WarnLevel, tok)
	path := srv.runtime().cfg.Path
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, "retry: {max_wait: 1s}\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.Reload(true); err != nil {
		t.Fatal(err)
	}
	p := srv.profiles.get("default")
	req, _ := http.NewRequest(http.MethodGet, "https://api.notion.com/v1/users/me", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	t.Run("a wait for the scheduler leaves less for a back-off", func(t *testing.T) {
		c := &call{profile: p, seq: 1}
		p.sched.Hold(950*time.Millisecond, http.StatusTooManyRequests, "")
		if err := srv.schedule(ctx, c); err != nil {
			t.Fatalf("waiting out a hold shorter than max_wait: %v", err)
		}
		c.sent(true)
		// A 503 now: its back-off (at least 125 ms) would end past the
		// 1 s budget, of which the hold took 950 ms.
		if d, ok := srv.retryWait(c, req, http.StatusServiceUnavailable, ""); ok {
			t.Errorf("retry after %v granted to a call that waited %v of a 1 s max_wait", d, c.waited)
		}
	})
	t.Run("back-offs leave less for the scheduler", func(t *testing.T) {
		c := &call{profile: p, seq: 2}
		for range 2 { // two 503s: back-offs of 125-250 ms and 250-500 ms
			if _, ok := srv.retryWait(c, req, http.StatusServiceUnavailable, ""); !ok {
				t.Fatal("a first back-off refused")
			}
		}
		// A hold of 700 ms fits in max_wait alone, not after 375 ms or
		// more of back-offs: the call gets Notion's 429 at once.
		p.sched.Hold(700*time.Millisecond, http.StatusTooManyRequests, "")
		err := srv.schedule(ctx, c)
		if err == nil {
			c.sent(true)
		}
		if !errors.Is(err, errRateLimitGaveUp) {
			t.Errorf("schedule after %v of back-offs, a 700 ms hold and a 1 s max_wait: %v, want errRateLimitGaveUp", c.waited, err)
		}
	})
}

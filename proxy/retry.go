package proxy

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Back-off between retries, with jitter (rewrite.Backoff): for rate limits
// 1 s, 2 s, 4 s, … capped at 8 s, and never less, whatever Retry-After
// says (rewrite.RateLimitWait); for transient failures 250 ms, 500 ms, …
// capped at 8 s. Each wait lies between half and the whole of its step.
const (
	rateLimitBackoffBase = time.Second
	transientBackoffBase = 250 * time.Millisecond
	backoffMax           = 8 * time.Second
)

// Retry reasons, as logged and counted.
const (
	retryRateLimited = "rate_limited"
	retryTransient   = "transient"
)

// retryWait decides whether c is sent again after an answer of status
// (0: a connection error before any answer) and how long to wait first
// (docs/design.md#retries-and-rate-limits), under the retry config current now. Rate-limited answers
// (429, 529) are retried for any method: Notion did not run the call. 5xx
// and connection errors only for calls rewrite.IsRetrySafe allows. All
// waits of one call together (back-offs and waits for the rate-limit
// scheduler, one budget: c.waited) stay within retry.max_wait, and a call is
// sent at most rewrite.MaxAttempts times for these reasons; past either,
// the answer goes to the program as it is.
func (s *Server) retryWait(c *call, req *http.Request, status int, retryAfter string) (time.Duration, bool) {
	cfg := s.runtime().cfg.Retry
	retries := 0
	for _, n := range c.retries {
		retries += n
	}
	var reason string
	var d time.Duration
	switch {
	case rewrite.IsRateLimited(status):
		if !cfg.RateLimited {
			return 0, false
		}
		backoff := rewrite.Backoff(retries+1, rateLimitBackoffBase, backoffMax, rand.Float64())
		reason, d = retryRateLimited, rewrite.RateLimitWait(retryAfter, s.now(), backoff)
	case status == 0 || rewrite.IsTransientStatus(status):
		if !cfg.Transient || !rewrite.IsRetrySafe(req.Method, req.URL.Path) {
			return 0, false
		}
		reason, d = retryTransient, rewrite.Backoff(retries+1, transientBackoffBase, backoffMax, rand.Float64())
	default:
		return 0, false
	}
	if !rewrite.WithinRetryBudget(retries, c.waited, d, cfg.MaxWait) {
		return 0, false
	}
	if reason == retryTransient || c.oauth {
		// Slept by the caller. A rate-limited call's wait is its
		// profile's hold, counted as the scheduler measures it (OAuth
		// calls have no scheduler: their waits count as announced).
		c.waited += d
	}
	if c.retries == nil {
		c.retries = make(map[string]int, 1)
	}
	c.retries[reason]++
	return d, true
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// discard drains a little of an answer that will not be passed on, so its
// connection can be reused, and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

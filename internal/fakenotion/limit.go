package fakenotion

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// OutcomeRateLimited: answered 429 rate_limited by the limit set with
// SetLimit.
const OutcomeRateLimited = "rate_limited"

// Limit is a rate limit the fake enforces on API calls (not OAuth), the
// way Notion does (developers.notion.com, "Request limits"): either a
// token bucket (Window 0: Burst calls at once, refilled at Rate per
// second) or a budget of Budget calls per Window (windows counted from
// SetLimit, spendable in a burst). A call over the limit is answered 429
// with Notion's error object, additional_data.rate_limit_reason set to
// Reason, and Retry-After in whole seconds, rounded up (at least 1), until
// the call would have been accepted: the next token, or the next window.
type Limit struct {
	Rate   float64
	Burst  int
	Budget int
	Window time.Duration
	// Reason is the rate_limit_reason of the 429s ("" = none given).
	Reason string
	// PerToken keeps one limit per Bearer token (a connection's limit);
	// false shares one limit among all tokens (a workspace's).
	PerToken bool
}

// limiter is the state of the current Limit.
type limiter struct {
	l       Limit
	start   time.Time
	buckets map[string]*bucketState
}

type bucketState struct {
	tokens float64
	at     time.Time
	window int64 // index of the window that used counts
	used   int
}

// SetLimit starts enforcing l (a zero Limit: none), with full buckets and
// fresh windows. Reset does not clear it.
func (s *Server) SetLimit(l Limit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Rate <= 0 && l.Budget <= 0 {
		s.limit = nil
		return
	}
	s.limit = &limiter{l: l, start: time.Now(), buckets: map[string]*bucketState{}}
	s.limited = 0
}

// RateLimited returns how many calls the limit answered 429 since the last
// SetLimit or Reset.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// overLimit takes one call from the limit for token. It returns the wait
// to announce (whole seconds) and false when the call is over the limit.
func (s *Server) overLimit(token string, now time.Time) (retryAfter int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lim := s.limit
	if lim == nil {
		return 0, true
	}
	key := ""
	if lim.l.PerToken {
		key = token
	}
	b := lim.buckets[key]
	if b == nil {
		b = &bucketState{tokens: float64(lim.l.Burst), at: lim.start}
		lim.buckets[key] = b
	}
	var wait time.Duration
	if lim.l.Window > 0 {
		w := int64(now.Sub(lim.start) / lim.l.Window)
		if w != b.window {
			b.window, b.used = w, 0
		}
		if b.used < lim.l.Budget {
			b.used++
			return 0, true
		}
		wait = lim.start.Add(time.Duration(w+1) * lim.l.Window).Sub(now)
	} else {
		b.tokens = math.Min(float64(lim.l.Burst), b.tokens+now.Sub(b.at).Seconds()*lim.l.Rate)
		b.at = now
		if b.tokens >= 1 {
			b.tokens--
			return 0, true
		}
		wait = time.Duration((1 - b.tokens) / lim.l.Rate * float64(time.Second))
	}
	s.limited++
	return max(1, int(math.Ceil(wait.Seconds()))), false
}

// rateLimited answers Notion's 429 for a call over the limit.
func (c *call) rateLimited(retryAfter int, reason string) {
	c.w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	body := errorBody{Object: "error", Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: msgRateLimited, RequestID: c.requestID}
	if reason != "" {
		body.AdditionalData = map[string]any{"rate_limit_reason": reason}
	}
	c.send(http.StatusTooManyRequests, OutcomeRateLimited, body)
}

// limitReason is the current limit's rate_limit_reason.
func (s *Server) limitReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit == nil {
		return ""
	}
	return s.limit.l.Reason
}

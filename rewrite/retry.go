package rewrite

import (
	"math"
	"net/http"
	"strings"
	"time"
)

// maxDuration is the longest time.Duration; results that would exceed it are
// clamped to it.
const maxDuration = time.Duration(math.MaxInt64)

// IsTransientStatus reports whether status is one of the transient server
// errors after which a retry-safe call (see [IsRetrySafe]) may be resent:
// 500, 502, 503 or 504.
func IsTransientStatus(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// IsRateLimited reports whether status says Notion refused the call for
// load without running it: 429 (code "rate_limited") or 529 (code
// "service_overload"). Only the status is examined. Such a call may be
// resent whatever its method, after the wait given by [RetryAfter] or
// [Backoff].
func IsRateLimited(status int) bool {
	return status == http.StatusTooManyRequests || status == 529
}

// RetryAfter parses the value of a Retry-After header into the time to wait.
//
// The value is either delta-seconds — a non-negative integer, or a
// non-negative decimal such as "1.5" — or an HTTP-date (any format accepted
// by [net/http.ParseTime]), taken relative to now. Surrounding whitespace is
// ignored. A date in the past gives 0; a wait too long for a time.Duration
// is clamped to the longest one. ok is false, and d is 0, when value is
// empty or not one of these forms (including negative numbers, which the
// caller should treat like an absent header).
func RetryAfter(value string, now time.Time) (d time.Duration, ok bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if d, ok := parseSeconds(value); ok {
		return d, true
	}
	when, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(when.Sub(now), 0), true
}

// parseSeconds parses 1*DIGIT ["." 1*DIGIT] as a number of seconds, exactly
// to the nanosecond (further digits are dropped), clamping at maxDuration.
func parseSeconds(s string) (time.Duration, bool) {
	whole, fraction, hasPoint := strings.Cut(s, ".")
	if !isDigits(whole) || (hasPoint && !isDigits(fraction)) {
		return 0, false
	}
	var seconds int64
	for _, c := range []byte(whole) {
		digit := int64(c - '0')
		if seconds > (math.MaxInt64/int64(time.Second)-digit)/10 {
			return maxDuration, true
		}
		seconds = seconds*10 + digit
	}
	var nanos int64
	scale := int64(time.Second)
	for _, c := range []byte(fraction) {
		scale /= 10
		if scale == 0 {
			break
		}
		nanos += int64(c-'0') * scale
	}
	total := seconds*int64(time.Second) + nanos
	if total < 0 { // the fraction pushed the largest whole number of seconds over
		return maxDuration, true
	}
	return time.Duration(total), true
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Backoff returns how long to wait before retry number attempt (1-based)
// when the answer gave no usable Retry-After.
//
// The exponential step is base * 2^(attempt-1), capped at max; the result
// is capped/2 + jitter*capped/2, so it lies in [capped/2, capped]. jitter
// is the caller's randomness, expected in [0, 1); values outside are
// clamped into [0, 1] and NaN counts as 0. An attempt below 1 counts as 1.
// The result is never negative and never overflows, however large attempt
// is; a base or max of zero or less gives 0.
func Backoff(attempt int, base, max time.Duration, jitter float64) time.Duration {
	if base <= 0 || max <= 0 {
		return 0
	}
	step := min(base, max)
	for i := 1; i < attempt && step < max; i++ {
		if step > max/2 {
			step = max
			break
		}
		step *= 2
	}
	switch {
	case !(jitter > 0): // also NaN
		jitter = 0
	case jitter > 1:
		jitter = 1
	}
	half := step / 2
	spread := step - half
	extra := time.Duration(jitter * float64(spread))
	if extra < 0 || extra > spread {
		extra = spread
	}
	return half + extra
}

// MaxAttempts is the most times one call is sent when rate limits and
// transient failures (docs/design.md#retries-and-rate-limits) make it retry: its first send and at most
// MaxAttempts-1 resends, however short the waits. Sends after waiting for
// a new token are not counted.
const MaxAttempts = 10

// RateLimitWait returns how long to wait before resending a call that
// Notion refused for load (see [IsRateLimited]): the wait its Retry-After
// value asks for ([RetryAfter]), but never less than backoff, the caller's
// [Backoff] for this retry. A Retry-After of 0, a date in the past, or an
// absent or malformed one, therefore waits backoff: an upstream that keeps
// answering "Retry-After: 0" is resent at a slowing pace, not at once.
func RateLimitWait(retryAfter string, now time.Time, backoff time.Duration) time.Duration {
	if d, ok := RetryAfter(retryAfter, now); ok && d > backoff {
		return d
	}
	return max(backoff, 0)
}

// WithinRetryBudget reports whether a call that was resent retries times
// and waited waited for those resends in all may wait next more and be
// sent again: fewer than [MaxAttempts]-1 resends so far and all its waits,
// next included, within maxWait (retry.max_wait). It never overflows, even
// for a next clamped to the longest duration.
func WithinRetryBudget(retries int, waited, next, maxWait time.Duration) bool {
	if retries >= MaxAttempts-1 || next < 0 || waited < 0 || waited > maxWait {
		return false
	}
	return next <= maxWait-waited
}

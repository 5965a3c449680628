package rewrite_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func TestIsTransientStatus(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   bool
	}{
		{"500 internal server error is transient", 500, true},
		{"502 bad gateway is transient", 502, true},
		{"503 service unavailable is transient", 503, true},
		{"504 gateway timeout is transient", 504, true},
		{"501 not implemented is not transient", 501, false},
		{"505 is not transient", 505, false},
		{"429 rate limited is not a transient server error", 429, false},
		{"529 service overload is not a transient server error", 529, false},
		{"401 is not transient", 401, false},
		{"200 is not transient", 200, false},
		{"0 is not transient", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.IsTransientStatus(tt.status); got != tt.want {
				t.Errorf("IsTransientStatus(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestIsRateLimited(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   bool
	}{
		{"429 rate_limited is rate limited", 429, true},
		{"529 service_overload is rate limited", 529, true},
		{"503 is not rate limited", 503, false},
		{"500 is not rate limited", 500, false},
		{"428 is not rate limited", 428, false},
		{"200 is not rate limited", 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.IsRateLimited(tt.status); got != tt.want {
				t.Errorf("IsRateLimited(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, time.March, 14, 9, 26, 53, 0, time.UTC)
	const longest = time.Duration(math.MaxInt64)
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"whole seconds are a wait in seconds", "3", 3 * time.Second, true},
		{"zero seconds mean send again at once", "0", 0, true},
		{"leading zeros are allowed", "007", 7 * time.Second, true},
		{"a decimal is a fractional wait", "1.5", 1500 * time.Millisecond, true},
		{"a decimal is exact to the nanosecond", "0.000000001", time.Nanosecond, true},
		{"digits past nanoseconds are dropped", "0.1234567899", 123456789 * time.Nanosecond, true},
		{"surrounding whitespace is ignored", "  2 ", 2 * time.Second, true},
		{"a large wait is kept", "86400", 24 * time.Hour, true},
		{"a wait too long for a Duration is clamped", "99999999999999999999999", longest, true},
		{"the longest whole number of seconds plus a fraction is clamped", "9223372036.9", longest, true},
		{"the longest whole number of seconds fits", "9223372036", 9223372036 * time.Second, true},
		{"an IMF-fixdate in the future is the time until it", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"an RFC 850 date in the future is the time until it", now.Add(time.Minute).Format(time.RFC850), time.Minute, true},
		{"an ANSI C date in the future is the time until it", now.Add(2 * time.Minute).Format(time.ANSIC), 2 * time.Minute, true},
		{"a date in the past is clamped to zero", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"a date equal to now is zero", now.Format(http.TimeFormat), 0, true},
		{"an absent header gives no answer", "", 0, false},
		{"a blank header gives no answer", "   ", 0, false},
		{"a negative number gives no answer", "-1", 0, false},
		{"a plus sign gives no answer", "+1", 0, false},
		{"a decimal without a fraction gives no answer", "1.", 0, false},
		{"a decimal without a whole part gives no answer", ".5", 0, false},
		{"an exponent gives no answer", "1e3", 0, false},
		{"a unit suffix gives no answer", "5s", 0, false},
		{"two numbers give no answer", "1 2", 0, false},
		{"a hexadecimal number gives no answer", "0x10", 0, false},
		{"infinity gives no answer", "Inf", 0, false},
		{"not-a-number gives no answer", "NaN", 0, false},
		{"a malformed date gives no answer", "Fri, 32 Mar 2025 25:00:00 GMT", 0, false},
		{"words give no answer", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rewrite.RetryAfter(tt.value, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	const (
		base    = 500 * time.Millisecond
		ceiling = 30 * time.Second
		longest = time.Duration(math.MaxInt64)
	)
	tests := []struct {
		name    string
		attempt int
		base    time.Duration
		max     time.Duration
		jitter  float64
		want    time.Duration
	}{
		{"the first retry with no jitter waits half the base", 1, base, ceiling, 0, 250 * time.Millisecond},
		{"the first retry with jitter near one waits almost the base", 1, base, ceiling, 0.999999, 499999750 * time.Nanosecond},
		{"the first retry with half jitter waits three quarters of the base", 1, base, ceiling, 0.5, 375 * time.Millisecond},
		{"the second retry doubles the step", 2, base, ceiling, 0, 500 * time.Millisecond},
		{"the third retry doubles it again", 3, base, ceiling, 0, time.Second},
		{"the seventh retry is capped at max", 7, base, ceiling, 0, 15 * time.Second},
		{"a capped step with jitter one waits max", 7, base, ceiling, 1, ceiling},
		{"a huge attempt is capped at max without overflowing", math.MaxInt, base, ceiling, 0.5, 22500 * time.Millisecond},
		{"a huge attempt with the longest max does not overflow", math.MaxInt, time.Nanosecond, longest, 0.999999999, longest/2 + time.Duration(0.999999999*float64(longest-longest/2))},
		{"the longest base and max with full jitter is the longest duration", 1, longest, longest, 1, longest},
		{"a base above max is capped at max", 1, time.Minute, ceiling, 0, 15 * time.Second},
		{"attempt zero counts as the first retry", 0, base, ceiling, 0, 250 * time.Millisecond},
		{"a negative attempt counts as the first retry", -5, base, ceiling, 0, 250 * time.Millisecond},
		{"negative jitter counts as zero", 3, base, ceiling, -1, time.Second},
		{"jitter above one counts as one", 3, base, ceiling, 7, 2 * time.Second},
		{"NaN jitter counts as zero", 3, base, ceiling, math.NaN(), time.Second},
		{"infinite jitter counts as one", 3, base, ceiling, math.Inf(1), 2 * time.Second},
		{"a zero base waits nothing", 3, 0, ceiling, 0.5, 0},
		{"a negative base waits nothing", 3, -time.Second, ceiling, 0.5, 0},
		{"a zero max waits nothing", 3, base, 0, 0.5, 0},
		{"a negative max waits nothing", 3, base, -time.Second, 0.5, 0},
		{"a one-nanosecond step with no jitter waits nothing", 1, time.Nanosecond, ceiling, 0, 0},
		{"a one-nanosecond step with full jitter waits one nanosecond", 1, time.Nanosecond, ceiling, 1, time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rewrite.Backoff(tt.attempt, tt.base, tt.max, tt.jitter)
			if got != tt.want {
				t.Errorf("Backoff(%d, %v, %v, %v) = %v, want %v", tt.attempt, tt.base, tt.max, tt.jitter, got, tt.want)
			}
		})
	}
}

func TestBackoffStaysWithinHalfAndFullStep(t *testing.T) {
	const base, ceiling = 100 * time.Millisecond, 10 * time.Second
	for attempt := 1; attempt <= 70; attempt++ {
		step := base
		for i := 1; i < attempt && step < ceiling; i++ {
			step *= 2
		}
		step = min(step, ceiling)
		for _, jitter := range []float64{0, 0.25, 0.5, 0.75, 0.9999999999999999} {
			got := rewrite.Backoff(attempt, base, ceiling, jitter)
			if got < step/2 || got > step {
				t.Fatalf("Backoff(%d, %v, %v, %v) = %v, want within [%v, %v]", attempt, base, ceiling, jitter, got, step/2, step)
			}
		}
	}
}

func TestRateLimitWait(t *testing.T) {
	now := time.Date(2025, time.March, 14, 9, 26, 53, 0, time.UTC)
	const backoff = 750 * time.Millisecond
	tests := []struct {
		name       string
		retryAfter string
		backoff    time.Duration
		want       time.Duration
	}{
		{"a Retry-After longer than the back-off is waited", "3", backoff, 3 * time.Second},
		{"Retry-After 0 waits the back-off, not nothing", "0", backoff, backoff},
		{"a Retry-After shorter than the back-off waits the back-off", "0.1", backoff, backoff},
		{"a date in the past waits the back-off", now.Add(-time.Hour).Format(http.TimeFormat), backoff, backoff},
		{"a date equal to now waits the back-off", now.Format(http.TimeFormat), backoff, backoff},
		{"a date in the future is waited", now.Add(time.Minute).Format(http.TimeFormat), backoff, time.Minute},
		{"an absent Retry-After waits the back-off", "", backoff, backoff},
		{"a malformed Retry-After waits the back-off", "soon", backoff, backoff},
		{"a negative Retry-After waits the back-off", "-5", backoff, backoff},
		{"a huge Retry-After is clamped, not overflowed", "99999999999999999999999", backoff, time.Duration(math.MaxInt64)},
		{"a negative back-off never gives a negative wait", "", -time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.RateLimitWait(tt.retryAfter, now, tt.backoff); got != tt.want {
				t.Errorf("RateLimitWait(%q, %v) = %v, want %v", tt.retryAfter, tt.backoff, got, tt.want)
			}
		})
	}
}

func TestWithinRetryBudget(t *testing.T) {
	const maxWait = 10 * time.Second
	longest := time.Duration(math.MaxInt64)
	tests := []struct {
		name    string
		retries int
		waited  time.Duration
		next    time.Duration
		want    bool
	}{
		{"a first retry within max_wait goes", 0, 0, time.Second, true},
		{"a wait that fills max_wait exactly goes", 3, 8 * time.Second, 2 * time.Second, true},
		{"a wait past max_wait does not", 3, 8 * time.Second, 2*time.Second + 1, false},
		{"the last retry the cap allows goes", rewrite.MaxAttempts - 2, 0, time.Millisecond, true},
		{"past the cap nothing goes, however short the wait", rewrite.MaxAttempts - 1, 0, 0, false},
		{"far past the cap nothing goes", 1000, 0, 0, false},
		{"a zero wait still goes within both", 0, 0, 0, true},
		{"a wait clamped to the longest duration does not overflow into a yes", 1, 5 * time.Second, longest, false},
		{"a call that already waited past max_wait does not go", 1, maxWait + 1, 0, false},
		{"a negative wait does not go", 0, 0, -time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.WithinRetryBudget(tt.retries, tt.waited, tt.next, maxWait); got != tt.want {
				t.Errorf("WithinRetryBudget(%d, %v, %v, %v) = %v, want %v", tt.retries, tt.waited, tt.next, maxWait, got, tt.want)
			}
		})
	}
}

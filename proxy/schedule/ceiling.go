package schedule

import "time"

// The configured rate_limit, enforced where every other decision to send
// is made (docs/design.md#the-rate-limit-scheduler): a token bucket of
// ceiling calls/s holding up to burst, spent by each grant. A call that
// waits for it waits in the queue, in order, under its max_wait, and
// never past a hold.

// SetCeiling sets the configured rate_limit: at most rps calls/s (0: no
// ceiling), burst at once. The pace never exceeds rps. Changing only the
// numbers keeps the bucket's tokens (up to the new burst); a new ceiling
// starts with a full bucket.
func (s *Scheduler) SetCeiling(rps float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if rps > 0 {
		s.free.Store(false) // every grant now takes a token, under mu
		if s.ceiling > 0 {
			s.refill(now)
		} else {
			s.tokens = float64(max(burst, 1))
		}
		s.tokensAt = now
	}
	s.ceiling, s.burst = rps, float64(max(burst, 1))
	s.tokens = min(s.tokens, s.burst)
	if s.state == statePaced && rps > 0 && s.pace > rps {
		s.pace = rps
	}
	s.dispatch(now)
}

// refill adds the tokens earned since tokensAt. Called with mu held.
func (s *Scheduler) refill(now time.Time) {
	if now.After(s.tokensAt) {
		s.tokens = min(s.burst, s.tokens+now.Sub(s.tokensAt).Seconds()*s.ceiling)
		s.tokensAt = now
	}
}

// underCeiling reports whether a grant now stays within rate_limit, and
// if not, when it will. Called with mu held; a grant then calls spend.
func (s *Scheduler) underCeiling(now time.Time) (time.Time, bool) {
	if s.ceiling <= 0 {
		return time.Time{}, true
	}
	s.refill(now)
	if s.tokens >= 1 {
		return time.Time{}, true
	}
	wait := time.Duration((1 - s.tokens) / s.ceiling * float64(time.Second))
	return now.Add(max(wait, time.Nanosecond)), false
}

// spend takes the token of a grant. Called with mu held.
func (s *Scheduler) spend() {
	if s.ceiling > 0 {
		s.tokens--
	}
}

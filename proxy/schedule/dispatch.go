package schedule

import "time"

// dispatch grants what the state allows and arms the timer for the next
// grant. Called with mu held.
func (s *Scheduler) dispatch(now time.Time) {
	if s.state == stateHeld {
		if now.Before(s.heldUntil) {
			s.armTimer(now, s.heldUntil)
			return
		}
		s.endHold()
	}
	if s.state == statePaced && !s.next.IsZero() && now.Sub(s.next) >= time.Duration(float64(time.Second)/s.pace) {
		s.state = stateFree // the pace stopped binding: forget it
	}
	if s.state == stateBudgeted {
		s.nextWindow(now)
	}
	for len(s.queue) > 0 {
		if s.inflight.Load() >= s.cwnd {
			return // a Done dispatches again
		}
		budgeted := s.state == stateBudgeted
		if budgeted && s.used >= s.budget {
			s.armTimer(now, s.windowStart.Add(s.window))
			return
		}
		paced := s.state == statePaced
		if paced && now.Before(s.next) {
			s.armTimer(now, s.next)
			return
		}
		if at, ok := s.underCeiling(now); !ok {
			s.armTimer(now, at)
			return
		}
		s.spend()
		if budgeted {
			s.used++
		}
		w := s.queue[0]
		s.queue = s.queue[1:]
		if paced {
			s.next = maxTime(s.next, now).Add(time.Duration(float64(time.Second) / s.pace))
			if len(s.queue) > 0 {
				s.rise() // calls wait for the pace: it binds
			}
		}
		s.inflight.Add(1)
		w.granted = true
		s.answer(w)
	}
	s.maybeFree(now)
}

// maybeFree returns to the free state when nothing limits the calls any
// more. Called with mu held.
func (s *Scheduler) maybeFree(now time.Time) {
	if len(s.queue) > 0 {
		return
	}
	switch s.state {
	case stateStarting:
		if s.cwnd < s.maxInflight {
			return
		}
	case statePaced:
		if s.pace < maxPace && (s.ceiling == 0 || s.pace < s.ceiling) {
			return
		}
	case stateBudgeted:
		// Stays until a window passes unused (nextWindow), so that the
		// next crowd spends the budget, not a herd.
		s.armTimer(now, s.windowStart.Add(s.window))
		return
	case stateFree:
	default:
		return
	}
	if s.timer != nil {
		s.timer.Stop()
		s.timer, s.timerAt = nil, time.Time{}
	}
	s.state = stateFree
	// With a rate_limit every grant takes a token, under mu: no fast path.
	s.free.Store(s.ceiling == 0)
}

// armTimer makes sure dispatch runs again at t. Called with mu held.
func (s *Scheduler) armTimer(now, t time.Time) {
	if s.timer != nil && !s.timerAt.After(t) {
		return // an earlier tick dispatches, and arms again
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerAt = t
	s.timer = s.clock.AfterFunc(t.Sub(now), s.tick)
}

func (s *Scheduler) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer, s.timerAt = nil, time.Time{}
	s.dispatch(s.clock.Now())
}

// answer wakes w. Called with mu held.
func (s *Scheduler) answer(w *waiter) {
	if w.timer != nil {
		w.timer.Stop()
	}
	close(w.ready)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

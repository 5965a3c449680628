package schedule

import "time"

// Status is a snapshot of a scheduler for /-/status and /metrics.
type Status struct {
	State       string           // free, starting, held or paced
	HeldUntil   time.Time        // zero unless held
	HoldReason  string           // rate_limit_reason of the hold, if any
	Pace        float64          // calls/s while paced or held after pacing; 0: unpaced
	Waiting     int              // calls queued
	Inflight    int64            // calls granted, not done
	HeldSeconds float64          // total time held
	Limited     map[string]int64 // 429s and 529s by "status reason"
}

// Status returns a snapshot.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{State: s.state.String(), Waiting: len(s.queue), Inflight: s.inflight.Load(),
		HeldSeconds: s.heldTotal.Seconds(), Limited: make(map[string]int64, len(s.limited))}
	if s.state == stateHeld {
		st.HeldUntil, st.HoldReason, st.Pace = s.heldUntil, s.holdReason, s.paceAt429
	}
	if s.state == statePaced {
		st.Pace = s.pace
	}
	if s.state == stateBudgeted {
		st.Pace = float64(s.budget) / s.window.Seconds()
	}
	for k, v := range s.limited {
		st.Limited[k] = v
	}
	return st
}

func limitKey(status int, reason string) string {
	if reason == "" {
		reason = "none"
	}
	if status == 529 {
		return "529 " + reason
	}
	return "429 " + reason
}

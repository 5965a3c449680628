package schedule

// What the scheduler learns from Notion's answers: the busy stretch a
// measurement starts from, the pace after a hold (endHold, rise) and a
// window's budget (learnWindow, nextWindow). The design is at the top of
// schedule.go.

import (
	"math"
	"time"
)

// idleGap is how long a profile goes without calls before its next call
// starts a new busy stretch, and a new measurement of what Notion accepts.
const idleGap = time.Second

// seen notes a call's arrival or end: after idleGap without either, a new
// busy stretch (and measurement period) begins.
func (s *Scheduler) seen() {
	now := s.clock.Now().UnixNano()
	last := s.lastSeen.Load()
	if now-last < int64(10*time.Millisecond) {
		return
	}
	s.lastSeen.Store(now)
	if now-last >= int64(idleGap) {
		s.stretch.Store(now)
		s.accepted.Store(0)
	}
}

// endHold moves from held to paced, learning the pace. Called with mu held.
func (s *Scheduler) endHold() {
	end := s.heldUntil
	start := maxTime(s.periodStart, time.Unix(0, s.stretch.Load()))
	accepted := s.accepted.Swap(0)
	if s.windowed && s.learnWindow(end, start, accepted) {
		return
	}
	elapsed := end.Sub(start)
	if s.rounded {
		// Notion rounds Retry-After up to whole seconds: after its
		// shortest, 1 s, the limit let calls through again half a
		// second earlier, on average.
		elapsed -= min(roundingSlack, elapsed/2)
	}
	measured := minPace
	if elapsed > 0 {
		measured = max(float64(accepted)/elapsed.Seconds(), minPace)
	}
	s.pace = measured
	if s.ceiling > 0 {
		s.pace = min(s.pace, s.ceiling)
	}
	s.periodStart, s.next, s.cwnd = end, time.Time{}, max(s.cwnd, s.maxInflight)
	s.state = statePaced
	if len(s.queue) <= 1 {
		// No crowd waits: a lone call (the retry of the 429) needs no
		// pace, and one learned from a few calls would slow the next.
		s.state = stateFree
	}
}

// learnWindow ends a hold that waited for a window's end (docs/design.md#the-rate-limit-scheduler: a
// budget per window, spendable in a burst): the budget is what Notion
// accepted in the window the 429 ended, the window runs from its start to
// the end of the hold. It reports false, learning nothing, when no call
// was accepted (the pace then takes over). Called with mu held.
func (s *Scheduler) learnWindow(end, start time.Time, accepted int64) bool {
	budget, from := accepted, start
	if s.heldFrom == stateBudgeted {
		budget, from = accepted-s.okAtWindow, s.windowStart
	}
	if budget <= 0 || !end.After(from) {
		return false
	}
	s.budget, s.window, s.windowStart = budget, end.Sub(from), end
	s.used, s.okAtWindow, s.fullRuns = 0, 0, 0
	s.periodStart, s.cwnd = end, max(s.cwnd, s.maxInflight)
	s.state = stateBudgeted
	if len(s.queue) <= 1 {
		s.state = stateFree // no crowd: see endHold
	}
	return true
}

// nextWindow starts the window now falls in, once the current one has
// passed. A window with no call granted and none waiting ends the budget
// (nothing left to spend it on); a budget spent budgetProbe windows in a
// row grows by one call. Called with mu held.
func (s *Scheduler) nextWindow(now time.Time) {
	if now.Before(s.windowStart.Add(s.window)) {
		return
	}
	if s.used == 0 && len(s.queue) == 0 {
		s.state = stateFree
		return
	}
	if s.used >= s.budget {
		if s.fullRuns++; s.fullRuns >= budgetProbe {
			s.budget, s.fullRuns = s.budget+1, 0
		}
	} else {
		s.fullRuns = 0
	}
	s.windowStart = s.windowStart.Add(now.Sub(s.windowStart) / s.window * s.window)
	s.used, s.okAtWindow = 0, s.accepted.Load()
}

// rise raises the pace for one paced grant that found calls waiting.
// Called with mu held.
func (s *Scheduler) rise() {
	s.pace *= math.Pow(growth, 1/s.pace)
	if s.ceiling > 0 && s.pace >= s.ceiling {
		s.pace = s.ceiling
	}
	if s.pace > maxPace {
		s.pace = maxPace
	}
}

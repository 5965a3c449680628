package proxy

import "time"

// repeatEvery is how often an error that keeps repeating identically is
// logged again.
const repeatEvery = time.Minute

// repeatLimiter keeps an error that repeats from flooding the log: the
// first line of a run of identical ones is logged, then at most one every
// repeatEvery, carrying how many were held back since the last. It is not
// safe for concurrent use: its owner serializes.
type repeatLimiter struct {
	msg    string
	logged time.Time
	held   int
}

// allow reports whether the error msg, happening at now, is logged, and
// how many identical ones were held back before it.
func (l *repeatLimiter) allow(msg string, now time.Time) (log bool, held int) {
	if msg == l.msg && now.Sub(l.logged) < repeatEvery {
		l.held++
		return false, 0
	}
	if msg == l.msg {
		held = l.held
	}
	l.msg, l.logged, l.held = msg, now, 0
	return true, held
}

// reset ends the run: the next error is logged whatever it says.
func (l *repeatLimiter) reset() { *l = repeatLimiter{} }

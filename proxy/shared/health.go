package shared

import "time"

// States of Health.
const (
	// StateConnecting: Run has not yet synced with Redis once.
	StateConnecting = "connecting"
	// StateConnected: subscribed and synced; operations succeed.
	StateConnected = "connected"
	// StateDegraded: an operation failed or the subscription is down;
	// this replica serves on its own state until the next good resync.
	StateDegraded = "degraded"
)

// Health is how this replica's link to the shared state is doing, for
// /-/status, /metrics and the log.
type Health struct {
	State     string    // StateConnecting, StateConnected or StateDegraded
	LastError string    // the last failure, even when connected again; "" = none yet
	Since     time.Time // when State last changed
}

// Health answers the current Health.
func (s *Store) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health
}

// degraded records a failure; the change to degraded is logged once.
func (s *Store) degraded(err error) {
	s.mu.Lock()
	was := s.health.State
	s.health.LastError = err.Error()
	if was != StateDegraded {
		s.health.State, s.health.Since = StateDegraded, time.Now()
	}
	s.mu.Unlock()
	if was != StateDegraded {
		s.opts.Log.Warn().Err(err).Str("redis", s.where).
			Msg("shared state degraded: serving on this replica's own state until Redis answers again")
	}
}

// connected records a good resync; the change is logged once.
func (s *Store) connected() {
	s.mu.Lock()
	was := s.health.State
	if was != StateConnected {
		s.health.State, s.health.Since = StateConnected, time.Now()
	}
	s.mu.Unlock()
	if was != StateConnected {
		s.opts.Log.Info().Str("redis", s.where).Str("was", was).Msg("shared state connected: tokens, pauses and holds are shared with the other replicas")
	}
}

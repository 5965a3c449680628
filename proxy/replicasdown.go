package proxy

import (
	"context"
	"errors"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/shared"
)

// When Redis cannot be reached at the moment a profile needs a new token,
// every replica has the same spent access token and the same refresh
// token: refreshing at once, each alone, would send that refresh token
// several times, and Notion's rotation would refuse all but one
// (invalid_grant, a human needed). So a replica first keeps trying the
// shared refresh, with back-off, for sharedRefreshPatience; only then does
// it refresh alone, so that its calls are still answered before
// pause.timeout.

// Bounds of the wait for Redis before refreshing alone.
const (
	// sharedRefreshPatienceMax is the longest wait; pause.timeout/2 when
	// shorter, leaving the other half for the refresh itself.
	sharedRefreshPatienceMax = 30 * time.Second
	sharedRefreshRetryMin    = 100 * time.Millisecond
	sharedRefreshRetryMax    = 2 * time.Second
)

// errRefreshNotNeeded: while waiting for Redis, the profile got a token
// some other way (a person wrote one into the config).
var errRefreshNotNeeded = errors.New("the profile got a token meanwhile")

// sharedRefreshPatience is how long a replica waits for Redis before it
// refreshes alone.
func (s *Server) sharedRefreshPatience() time.Duration {
	return min(s.runtime().cfg.Pause.Timeout/2, sharedRefreshPatienceMax)
}

// retrySharedRefresh tries the shared refresh again, with back-off, while
// Redis is unavailable (first is that error), for sharedRefreshPatience.
// It answers the shared result, or an error wrapping
// shared.ErrUnavailable when the time is up (refresh alone then), or
// errRefreshNotNeeded.
func (s *Server) retrySharedRefresh(ctx context.Context, p *profile, rejected string, first error,
	refresh func(ctx context.Context, cur shared.Token) (shared.Token, error)) (shared.Token, error) {
	patience := s.sharedRefreshPatience()
	s.log.Warn().Str("profile", p.name).Err(first).Float64("wait_ms", millis(patience)).
		Msg("shared state unavailable: waiting for Redis so that one replica refreshes for all, then refreshing on this replica alone")
	deadline := time.Now().Add(patience)
	backoff := sharedRefreshRetryMin
	err := first
	for errors.Is(err, shared.ErrUnavailable) {
		wait := min(backoff, time.Until(deadline))
		if wait <= 0 {
			return shared.Token{}, err
		}
		if err := sleep(ctx, wait); err != nil {
			return shared.Token{}, err
		}
		if st := p.gate.Status(); st.State == "ok" || st.Probing {
			// A token came (written, or another replica's): it is tried,
			// not refreshed over (refreshLoop leaves a probing token alone).
			s.log.Info().Str("profile", p.name).Msg("the profile got a token while waiting for Redis: no refresh needed")
			return shared.Token{}, errRefreshNotNeeded
		}
		backoff = min(2*backoff, sharedRefreshRetryMax)
		var t shared.Token
		if t, err = s.replicas.store.Refresh(ctx, p.name, rejected, refresh); err == nil {
			s.log.Info().Str("profile", p.name).Msg("shared state back: the refresh is shared with the other replicas")
			return t, nil
		}
	}
	return shared.Token{}, err
}

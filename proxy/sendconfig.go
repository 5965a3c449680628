package proxy

import (
	"errors"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
)

// Which config a send uses (docs/design.md#config-and-reloads): the one current when it is sent, not
// the one the call was admitted under, with the token that config holds.

// errTokenChanged: a reload changed the profile's token since the call's
// ticket was granted.
var errTokenChanged = errors.New("token changed by a reload")

// sendConfig returns the config to send c with, under ticket t: the one
// current now. It reads it and checks t's token together, under applyMu,
// so that a token only ever reaches the upstream configured with it: when
// a reload changed the profile's token since t was granted, it returns
// errTokenChanged and the call must take a new ticket; when the reload
// removed the profile, ErrProfileRemoved.
func (s *Server) sendConfig(c *call, t gate.Ticket) (*runtimeConfig, error) {
	s.applyMu.RLock()
	defer s.applyMu.RUnlock()
	rt := s.runtime()
	switch {
	case c.oauth:
	case s.profiles.get(c.profile.name) != c.profile:
		return nil, gate.ErrProfileRemoved
	case c.profile.gate.Token() != t.Token:
		return nil, errTokenChanged
	}
	return rt, nil
}

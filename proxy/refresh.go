package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/atomicfile"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/shared"
	"github.com/notion-proxy/notion-proxy/proxy/tokensource"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Automatic token refresh (docs/design.md#tokens): a token_command profile runs its
// command, an OAuth profile calls Notion's token endpoint, whenever the
// profile has no usable token (at start, and each time it is paused). One
// refresh runs per profile at a time however many calls wait (single
// flight); a failure is retried with back-off while the profile stays
// paused, except an OAuth invalid_grant, which needs a human.

const (
	refreshBackoffMin = time.Second
	refreshBackoffMax = time.Minute
)

// errGaveRejected: a refresh answered the token that was just rejected.
var errGaveRejected = errors.New("it gave the token that was rejected")

// startRefresh starts the profile's refresher unless one is running or the
// profile's source cannot be refreshed automatically.
func (s *Server) startRefresh(p *profile) {
	if !p.refreshable() {
		return
	}
	if !p.refreshing.CompareAndSwap(false, true) {
		return
	}
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		s.refreshLoop(p)
	}()
}

// refreshLoop gets a new token for p, retrying with back-off, until it
// installs one, the profile no longer needs one, or the server stops.
func (s *Server) refreshLoop(p *profile) {
	backoff := refreshBackoffMin
	told := false // a person hears of the first failure, not of every retry
	for {
		st := p.gate.Status()
		pc := p.config()
		if st.State == "ok" || !p.refreshable() {
			p.refreshing.Store(false)
			return
		}
		if st.Probing {
			// A new token (another replica's, the config's) is being
			// tried: it is not the rejected one, and refreshing now would
			// replace it and spend the refresh token. Its answer decides:
			// if Notion rejects it, that pause starts the next refresh.
			p.refreshing.Store(false)
			if st := p.gate.Status(); st.State == "paused" && !st.Probing && p.refreshing.CompareAndSwap(false, true) {
				continue // rejected between the two looks: its pause found the flag still set
			}
			return
		}
		var tok, source string
		var err error
		// Once across the replicas (replicas.go): this one runs it, or
		// uses the result of the one that did.
		if len(pc.TokenCommand) > 0 {
			source = "token_command"
			tok, err = s.refreshShared(s.bg.ctx, p, st.Token, func(ctx context.Context, _ shared.Token) (shared.Token, error) {
				tok, err := s.runTokenCommand(ctx, p.name, pc.TokenCommand)
				if err == nil && tok == st.Token {
					err = errGaveRejected
				}
				return shared.Token{Access: tok}, err
			})
		} else {
			source = "oauth"
			tok, err = s.refreshShared(s.bg.ctx, p, st.Token, func(ctx context.Context, cur shared.Token) (shared.Token, error) {
				o := *pc.OAuth
				if cur.Refresh != "" {
					o.RefreshToken = cur.Refresh // the newest, from the replica that refreshed last
				}
				tr, err := s.refreshOAuth(ctx, p, o)
				if err == nil && tr.AccessToken == st.Token {
					err = errGaveRejected
				}
				return shared.Token{Access: tr.AccessToken, Refresh: tr.RefreshToken}, err
			})
		}
		if errors.Is(err, errRefreshNotNeeded) {
			continue // the loop's first check ends it
		}
		if err == nil && tok == st.Token {
			err = errGaveRejected
		}
		if err == nil {
			s.metrics.TokenRefreshes.WithLabelValues(p.name, "ok").Inc()
			s.log.Info().Str("profile", p.name).Str("source", source).Str("token", rewrite.Fingerprint(tok)).
				Msg("new token obtained")
			// Clear the flag first: if the new token is rejected too, the
			// pause it causes must be able to start the next refresh.
			p.refreshing.Store(false)
			p.gate.SetToken(tok)
			return
		}
		s.metrics.TokenRefreshes.WithLabelValues(p.name, "error").Inc()
		if !told || errors.Is(err, tokensource.ErrInvalidGrant) {
			s.tellRefreshFailed(p, source, err)
			told = true
		}
		if errors.Is(err, tokensource.ErrInvalidGrant) {
			s.log.Error().Str("profile", p.name).Err(err).Str("config", s.runtime().cfg.Path).
				Msg("OAuth refresh refused: a human must re-authorise the integration and put the new " +
					"refresh_token in the config; calls of this profile stay paused")
			p.refreshing.Store(false)
			return
		}
		s.log.Warn().Str("profile", p.name).Str("source", source).Err(err).Float64("retry_in_ms", millis(backoff)).
			Msg("token refresh failed: calls of this profile stay paused")
		if sleep(s.bg.ctx, backoff) != nil {
			p.refreshing.Store(false)
			return
		}
		backoff = min(backoff*2, refreshBackoffMax)
	}
}

// runTokenCommand runs the profile's token_command
// (tokensource.RunCommand), logging what it wrote to stderr.
func (s *Server) runTokenCommand(ctx context.Context, profile string, argv []string) (string, error) {
	tok, stderr, err := tokensource.RunCommand(ctx, argv)
	if stderr != "" {
		s.log.Warn().Str("profile", profile).Str("command", argv[0]).Str("stderr", stderr).Msg("token_command wrote to stderr")
	}
	return tok, err
}

// refreshOAuth trades the profile's refresh token for a new access token
// at Notion's token endpoint (through the same upstream), then writes the
// new access token and the rotated refresh token into the config file
// atomically before the access token is used.
func (s *Server) refreshOAuth(ctx context.Context, p *profile, o config.OAuth) (tokensource.OAuthTokens, error) {
	rt := s.runtime()
	tr, err := tokensource.RefreshOAuth(ctx, rt.upstream, rt.cfg.Upstream.String(), rt.cfg.NotionVersion, o)
	if err != nil {
		return tr, err
	}
	if err := s.persistOAuth(rt.cfg.Path, p.name, tr); err != nil {
		// The old refresh token may already be dead: keep serving with the
		// new tokens in memory, and say loudly that the file is stale.
		s.log.Error().Str("profile", p.name).Err(err).
			Msg("could not write the refreshed OAuth tokens into the config: fix the file's permissions, " +
				"or the next start will need a re-authorisation")
	}
	// The reload of the written file comes later; the next refresh must
	// not wait for it to use the rotated refresh token.
	p.setOAuth(tr.AccessToken, tr.RefreshToken)
	return tr, nil
}

// persistOAuth writes refreshed OAuth tokens into the config file,
// comments and layout kept, by temp file and rename.
func (s *Server) persistOAuth(path, profile string, tr tokensource.OAuthTokens) error {
	return s.persistOAuthIf(path, profile, tr, nil)
}

// errNotCurrent: tokens to write into the config were replaced meanwhile.
var errNotCurrent = errors.New("newer tokens replaced them")

// persistOAuthIf is persistOAuth when still (nil: always) answers true,
// asked with the reload lock held, so that of several writes the last
// is the newest pair. The written access token becomes the profile's
// source token: the reload that the write causes does not take it for a
// new token from a person (replicas.go sourceChanges).
func (s *Server) persistOAuthIf(path, profile string, tr tokensource.OAuthTokens, still func() bool) error {
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	if still != nil && !still() {
		return errNotCurrent
	}
	err := atomicfile.Edit(path, nil, func(data []byte) ([]byte, error) {
		if data == nil {
			return nil, fmt.Errorf("config %s is gone", path)
		}
		out, err := config.SetOAuthTokens(data, profile, tr.AccessToken, tr.RefreshToken)
		if err != nil {
			return nil, fmt.Errorf("update config %s: %w", path, err)
		}
		return out, nil
	})
	if err == nil {
		s.replicas.sourceTokens[profile] = tr.AccessToken
	}
	return err
}

package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/atomicfile"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Automatic token refresh (docs/design.md#tokens): a token_command profile runs its
// command, an OAuth profile calls Notion's token endpoint, whenever the
// profile has no usable token (at start, and each time it is paused). One
// refresh runs per profile at a time however many calls wait (single
// flight); a failure is retried with back-off while the profile stays
// paused, except an OAuth invalid_grant, which needs a human.

const (
	tokenCommandTimeout = 30 * time.Second
	oauthTimeout        = 30 * time.Second
	refreshBackoffMin   = time.Second
	refreshBackoffMax   = time.Minute
)

// errInvalidGrant: Notion refused the refresh token; only re-authorising
// the integration helps.
var errInvalidGrant = errors.New("refresh token refused (invalid_grant)")

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
		var tok, source string
		var err error
		if len(pc.TokenCommand) > 0 {
			source = "token_command"
			tok, err = s.runTokenCommand(s.bg.ctx, p.name, pc.TokenCommand)
		} else {
			source = "oauth"
			tok, err = s.refreshOAuth(s.bg.ctx, p, *pc.OAuth)
		}
		if err == nil && tok == st.Token {
			err = errors.New("it gave the token that was rejected")
		}
		if err == nil {
			s.metrics.tokenRefreshes.WithLabelValues(p.name, "ok").Inc()
			s.log.Info().Str("profile", p.name).Str("source", source).Str("token", rewrite.Fingerprint(tok)).
				Msg("new token obtained")
			// Clear the flag first: if the new token is rejected too, the
			// pause it causes must be able to start the next refresh.
			p.refreshing.Store(false)
			p.gate.SetToken(tok)
			return
		}
		s.metrics.tokenRefreshes.WithLabelValues(p.name, "error").Inc()
		if !told || errors.Is(err, errInvalidGrant) {
			s.tellRefreshFailed(p, source, err)
			told = true
		}
		if errors.Is(err, errInvalidGrant) {
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

// runTokenCommand runs argv (no shell) with a time limit. Its trimmed
// stdout is the token; stdout is never logged, stderr is.
func (s *Server) runTokenCommand(ctx context.Context, profile string, argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenCommandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &limitedBuffer{&stdout, 64 << 10}, &limitedBuffer{&stderr, 8 << 10}
	err := cmd.Run()
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		s.log.Warn().Str("profile", profile).Str("command", argv[0]).Str("stderr", msg).Msg("token_command wrote to stderr")
	}
	if err != nil {
		return "", fmt.Errorf("run token_command %s: %w", argv[0], err)
	}
	tok := strings.TrimSpace(stdout.String())
	if problem := config.SecretProblem(tok); problem != "" {
		return "", fmt.Errorf("token_command %s printed no single token: its output %s", argv[0], problem)
	}
	return tok, nil
}

// limitedBuffer keeps at most n bytes and discards the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	n   int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// oauthTokenResponse is the part of Notion's POST /v1/oauth/token answer
// the proxy needs.
type oauthTokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// refreshOAuth trades the profile's refresh token for a new access token
// at Notion's token endpoint (through the same upstream), then writes the
// new access token and the rotated refresh token into the config file
// atomically before the access token is used.
func (s *Server) refreshOAuth(ctx context.Context, p *profile, o config.OAuth) (string, error) {
	rt := s.runtime()
	ctx, cancel := context.WithTimeout(ctx, oauthTimeout)
	defer cancel()
	reqBody, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": o.RefreshToken})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rt.cfg.Upstream.String()+"/v1/oauth/token", bytes.NewReader(reqBody))
	if err != nil {
		return "", fmt.Errorf("oauth refresh: %w", err)
	}
	req.SetBasicAuth(o.ClientID, o.ClientSecret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Notion-Version", rt.cfg.NotionVersion)
	resp, err := rt.upstream.RoundTrip(req)
	if err != nil {
		return "", fmt.Errorf("oauth refresh: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return "", fmt.Errorf("oauth refresh: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		code := rewrite.ErrorCode(resp.Header, data)
		if code == "invalid_grant" {
			return "", errInvalidGrant
		}
		return "", fmt.Errorf("oauth refresh: Notion answered %d %s", resp.StatusCode, code)
	}
	var tr oauthTokenResponse
	if err := json.Unmarshal(data, &tr); err != nil || tr.AccessToken == "" {
		return "", errors.New("oauth refresh: answer holds no access_token")
	}
	if tr.RefreshToken == "" {
		tr.RefreshToken = o.RefreshToken // not rotated
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
	return tr.AccessToken, nil
}

// persistOAuth writes refreshed OAuth tokens into the config file,
// comments and layout kept, by temp file and rename.
func (s *Server) persistOAuth(path, profile string, tr oauthTokenResponse) error {
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	return atomicfile.Edit(path, nil, func(data []byte) ([]byte, error) {
		if data == nil {
			return nil, fmt.Errorf("config %s is gone", path)
		}
		out, err := config.SetOAuthTokens(data, profile, tr.AccessToken, tr.RefreshToken)
		if err != nil {
			return nil, fmt.Errorf("update config %s: %w", path, err)
		}
		return out, nil
	})
}

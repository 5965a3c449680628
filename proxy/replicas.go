package proxy

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/notion-proxy/notion-proxy/proxy/admin"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/shared"
	"github.com/notion-proxy/notion-proxy/proxy/tokensource"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Many replicas (docs/design.md#many-replicas): the server's side of package shared. What
// goes out: a token that a source gave this replica (the config at start
// and reload, a token_file, a token_command, an OAuth refresh), a
// rejected token, a rate-limit hold. What comes in (the shared.Handlers of
// runReplicas, called from the store's one goroutine): a
// newer token, used at once; a rejection of the token in use, which pauses
// the profile as Notion's own answer would; a hold. OAuth refreshes (and
// token_command runs) take the shared lock, so one replica refreshes and
// the others use its result. Nothing here blocks a call on Redis beyond
// shared.timeout: when Redis cannot be used, each replica goes on alone.

// replicas is the server's link to the other replicas.
type replicas struct {
	// store is the shared state; nil when the shared mode is off.
	store *shared.Store
	// sourceTokens, guarded by reloads.mu (or used before serving), is
	// the token each profile's source gave last: in shared mode only a
	// source that changed replaces the token in use.
	sourceTokens map[string]string
	// unwritableTold: the config could not take another replica's OAuth
	// tokens, and the log said so (once).
	unwritableTold atomic.Bool
}

// newReplicas builds the shared store of cfg when the shared mode is on.
// An error (no key, a key of the wrong size, a bad CA file) means the
// proxy must not start.
func (s *Server) newReplicas(cfg *config.Config) error {
	s.replicas.sourceTokens = make(map[string]string)
	if !cfg.Shared.Enabled() {
		return nil
	}
	opts, err := sharedOptions(cfg, s.getenv)
	if err != nil {
		return err
	}
	opts.Log = s.log
	store, err := shared.New(opts)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Path, err)
	}
	s.metrics.Registry().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "notion_proxy_shared_connected",
		Help: "1 while the shared state (Redis) is connected and synced, 0 while degraded or connecting.",
	}, func() float64 {
		if store.Health().State == shared.StateConnected {
			return 1
		}
		return 0
	}))
	s.replicas.store = store
	return nil
}

// runReplicas follows the other replicas until Shutdown.
func (s *Server) runReplicas() {
	if s.replicas.store == nil {
		return
	}
	s.trackShared()
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		_ = s.replicas.store.Run(s.bg.ctx, shared.Handlers{
			Token:    s.onSharedToken,
			Rejected: s.onSharedRejected,
			Hold:     s.onSharedHold,
		})
	}()
}

// closeReplicas closes the store's connections once the background
// goroutines (its Run among them) are done.
func (s *Server) closeReplicas() {
	if s.replicas.store != nil {
		_ = s.replicas.store.Close()
	}
}

// shareSourceTokens offers the tokens that the profiles' sources changed
// (sourceChanges) to the other replicas; trackShared first, for a reload
// that added or removed profiles.
func (s *Server) shareSourceTokens(changed map[string]string) {
	if s.replicas.store == nil {
		return
	}
	s.trackShared()
	for _, p := range s.profiles.all() {
		if tok, ok := changed[p.name]; ok {
			s.shareToken(p, tok, oauthRefreshToken(p.config()))
		}
	}
}

// trackShared tells the store which profiles and workspaces to follow.
func (s *Server) trackShared() {
	if s.replicas.store == nil {
		return
	}
	var names, spaces []string
	for _, p := range s.profiles.all() {
		names = append(names, p.name)
		if ws := p.config().Workspace; ws != "" {
			spaces = append(spaces, ws)
		}
	}
	s.replicas.store.Track(names, spaces)
}

// shareToken offers tok (and an OAuth refresh token) from one of the
// profile's sources to the other replicas, and uses what wins: a newer
// token another replica wrote meanwhile, or one this token once replaced
// (a config older than what Redis holds).
func (s *Server) shareToken(p *profile, tok, refresh string) {
	if s.replicas.store == nil || tok == "" {
		return
	}
	got, err := s.replicas.store.Write(s.bg.ctx, p.name, tok, refresh)
	if err != nil {
		s.log.Debug().Str("profile", p.name).Err(err).Msg("token not shared now: written when Redis answers again")
		return
	}
	if got.Access != tok {
		s.useSharedToken(p, got, "a newer token from another replica is used instead of this one")
	}
}

// onSharedToken applies a token another replica wrote.
func (s *Server) onSharedToken(t shared.Token) {
	if p := s.profiles.get(t.Profile); p != nil {
		s.useSharedToken(p, t, "token from another replica in use")
	}
}

// useSharedToken makes t the profile's token.
func (s *Server) useSharedToken(p *profile, t shared.Token, msg string) {
	if t.Refresh != "" {
		p.setOAuth(t.Access, t.Refresh)
		s.keepSharedOAuth(p, t)
	}
	if p.gate.Token() == t.Access {
		return
	}
	s.log.Info().Str("profile", p.name).Str("token", rewrite.Fingerprint(t.Access)).Str("replica", t.By).Msg(msg)
	p.gate.SetToken(t.Access)
}

// shareRejection tells the other replicas that Notion rejected tok.
func (s *Server) shareRejection(name, tok string) {
	if s.replicas.store == nil || tok == "" {
		return
	}
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		if err := s.replicas.store.Reject(s.bg.ctx, name, tok); err != nil {
			s.log.Debug().Str("profile", name).Err(err).Msg("rejected token not shared")
		}
	}()
}

// onSharedRejected pauses the profile if its token is the one another
// replica saw rejected: no replica keeps sending a token known dead.
func (s *Server) onSharedRejected(name, fingerprint string) {
	p := s.profiles.get(name)
	if p == nil {
		return
	}
	tok := p.gate.Token()
	if tok == "" || s.replicas.store.Fingerprint(tok) != fingerprint {
		return
	}
	s.log.Info().Str("profile", name).Str("token", rewrite.Fingerprint(tok)).
		Msg("another replica's call was answered invalid-token: this replica pauses the profile too")
	p.gate.Report(gate.Ticket{Token: tok}, gate.Rejected, syntheticInvalidToken())
}

// shareHold tells the other replicas to hold p (and its workspace, when
// the 429 named the workspace's limit) until until, passing on Notion's
// answer ans (nil: none kept).
func (s *Server) shareHold(p *profile, until time.Time, reason string, ans *gate.Answer) {
	if s.replicas.store == nil {
		return
	}
	d := until.Sub(s.now())
	if d <= 0 {
		return
	}
	ws := p.config().Workspace
	sa := sharedAnswer(ans) // replicashold.go
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		err := s.replicas.store.Hold(s.bg.ctx, shared.ScopeProfile, p.name, d, reason, sa)
		if err == nil && ws != "" && rewrite.NamesWorkspace(reason) {
			err = s.replicas.store.Hold(s.bg.ctx, shared.ScopeWorkspace, ws, d, reason, sa)
		}
		if err != nil {
			s.log.Debug().Str("profile", p.name).Err(err).Msg("rate-limit hold not shared")
		}
	}()
}

// onSharedHold holds a profile, or every profile of a workspace, as another
// replica was told by a 429.
func (s *Server) onSharedHold(h shared.Hold) {
	d := h.Until.Sub(s.now())
	if d <= 0 {
		return
	}
	reason := h.Reason
	if reason == "" {
		reason = "rate_limited"
	}
	ans := gateAnswer(h.Answer) // replicashold.go
	for _, p := range s.profiles.all() {
		if (h.Scope == shared.ScopeProfile && p.name == h.Name) ||
			(h.Scope == shared.ScopeWorkspace && p.config().Workspace == h.Name) {
			if ans != nil {
				p.last429.Store(ans) // what its calls that give up get
			}
			p.sched.HoldFor(d, reason)
		}
	}
}

// refreshShared runs refresh once across the replicas: this replica's own
// run, or the result of another's. Without Redis it waits for it a while
// (retrySharedRefresh), then runs refresh alone and shares the result
// later.
func (s *Server) refreshShared(ctx context.Context, p *profile, rejected string,
	refresh func(ctx context.Context, cur shared.Token) (shared.Token, error)) (string, error) {
	if s.replicas.store == nil {
		t, err := refresh(ctx, shared.Token{})
		return t.Access, err
	}
	t, err := s.replicas.store.Refresh(ctx, p.name, rejected, refresh)
	if errors.Is(err, shared.ErrUnavailable) {
		t, err = s.retrySharedRefresh(ctx, p, rejected, err, refresh) // replicasdown.go
	}
	if errors.Is(err, shared.ErrUnavailable) {
		s.log.Warn().Str("profile", p.name).Err(err).Msg("shared state still unavailable: refreshing on this replica alone")
		if t, err = refresh(ctx, shared.Token{}); err != nil {
			return "", err
		}
		s.shareToken(p, t.Access, t.Refresh)
		return t.Access, nil
	}
	if err != nil {
		return "", err
	}
	if t.Refresh != "" {
		p.setOAuth(t.Access, t.Refresh)
		s.keepSharedOAuth(p, t)
	}
	return t.Access, nil
}

// keepSharedOAuth writes an OAuth pair that another replica got into this
// replica's config file, as the refreshing replica does with its own:
// the refresh token the file held is spent, and a restart while Redis is
// down (or after it lost its data) must not send it. In the background,
// never delaying a call; skipped when a newer pair came meanwhile. A file
// that cannot be written (a Secret's read-only mount) is fine: the pair
// lives in Redis; said once, at debug.
func (s *Server) keepSharedOAuth(p *profile, t shared.Token) {
	store := s.replicas.store
	if store == nil || t.Refresh == "" || t.By == store.ID() || p.config().OAuth == nil {
		return
	}
	path := s.runtime().cfg.Path
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		err := s.persistOAuthIf(path, p.name, tokensource.OAuthTokens{AccessToken: t.Access, RefreshToken: t.Refresh},
			func() bool { return store.Held(p.name).Access == t.Access })
		switch {
		case err == nil:
			s.log.Debug().Str("profile", p.name).Str("token", rewrite.Fingerprint(t.Access)).
				Msg("OAuth tokens from another replica written into the config")
		case errors.Is(err, errNotCurrent):
		case s.replicas.unwritableTold.CompareAndSwap(false, true):
			s.log.Debug().Str("profile", p.name).Err(err).
				Msg("OAuth tokens from another replica not written into the config (kept in Redis and memory)")
		}
	}()
}

// sourceChanges records the tokens that the profiles' sources gave now
// and answers those that differ from the last ones. In shared mode it
// also drops the unchanged ones from tokens: the profile keeps the token
// in use, which may have come from another replica since. Called with
// reloadMu held (or before serving).
func (s *Server) sourceChanges(tokens map[string]string) map[string]string {
	changed := make(map[string]string)
	for name, tok := range tokens {
		if last, ok := s.replicas.sourceTokens[name]; ok && last == tok {
			if s.replicas.store != nil {
				delete(tokens, name)
			}
			continue
		}
		s.replicas.sourceTokens[name] = tok
		changed[name] = tok
	}
	return changed
}

// oauthRefreshToken is the refresh token of an OAuth profile, or "".
func oauthRefreshToken(pc config.Profile) string {
	if pc.OAuth == nil {
		return ""
	}
	return pc.OAuth.RefreshToken
}

// sharedStatus is the shared store's health, or nil when it is off.
func (s *Server) sharedStatus() *admin.SharedStatus {
	if s.replicas.store == nil {
		return nil
	}
	h := s.replicas.store.Health()
	return &admin.SharedStatus{State: h.State, LastError: h.LastError, Since: h.Since.UTC()}
}

// sharedProblems are the reasons the shared mode of cfg cannot start: no
// sealing key or one of the wrong size, a shared.ca that cannot be used.
// A Redis that does not answer is none: the proxy serves and retries.
func sharedProblems(cfg *config.Config, getenv func(string) string) []error {
	if !cfg.Shared.Enabled() {
		return nil
	}
	opts, err := sharedOptions(cfg, getenv)
	if err != nil {
		return []error{err}
	}
	store, err := shared.New(opts)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", cfg.Path, err)}
	}
	_ = store.Close() // built to check the options; it never connected
	return nil
}

// sharedOptions are the store's options from cfg, with the sealing key
// and the Redis password (shared.password_env) from the environment. An
// error (no key, a password_env that is not set) means the shared mode
// cannot start; it never shows a secret.
func sharedOptions(cfg *config.Config, getenv func(string) string) (shared.Options, error) {
	key, err := shared.LoadKey(getenv, cfg.Shared.KeyEnv)
	if err != nil {
		return shared.Options{}, fmt.Errorf("%s: shared: %w", cfg.Path, err)
	}
	opts := shared.Options{URL: cfg.Shared.Redis, CAFile: cfg.Shared.CA, Key: key,
		Prefix: cfg.Shared.Prefix, Timeout: cfg.Shared.Timeout}
	if name := cfg.Shared.PasswordEnv; name != "" {
		if opts.Password = getenv(name); opts.Password == "" {
			return shared.Options{}, fmt.Errorf("%s: shared.password_env names %s, which is not set: "+
				"set it on every replica to Redis's password", cfg.Path, name)
		}
	}
	return opts, nil
}

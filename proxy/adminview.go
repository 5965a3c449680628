package proxy

import (
	"errors"
	"net/http"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/admin"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// The proxy's side of its admin endpoints and status page
// (docs/design.md#admin-endpoints): package admin serves them and checks
// the caller; adminView gives it the Server's state and actions.

// serveAdmin serves the proxy's own endpoints (package admin).
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	admin.New(adminView{s}).ServeHTTP(w, r)
}

// adminView is the Server as package admin sees it (admin.Backend).
type adminView struct{ s *Server }

func (v adminView) Status() admin.Status   { return v.s.Status() }
func (v adminView) Summary() admin.Summary { return v.s.Summary() }
func (v adminView) Health() string         { return healthText(v.s.logWriter, v.s.now()) }
func (v adminView) Reload() error          { return v.s.Reload(true) }
func (v adminView) Metrics() http.Handler  { return v.s.metrics.Handler() }
func (v adminView) AdminToken() string     { return v.s.runtime().cfg.AdminToken }
func (v adminView) PageSecret() string     { return v.s.human.pageSecret }

// Revoke marks the token of profile ("" = the first) rejected
// (POST /-/revoke).
func (v adminView) Revoke(name string) (admin.ProfileStatus, error) {
	s := v.s
	if name == "" {
		name = s.profiles.all()[0].name
	}
	p := s.profiles.get(name)
	if p == nil {
		return admin.ProfileStatus{}, admin.ErrUnknownProfile
	}
	p.gate.Revoke(syntheticInvalidToken())
	s.log.Info().Str("profile", name).Msg("token marked rejected by POST /-/revoke")
	return s.profileStatus(p), nil
}

// SetToken writes a token pasted into the status page and reloads.
func (v adminView) SetToken(name, token string) (string, error) {
	s := v.s
	p := s.profiles.get(name)
	if p == nil {
		return "", admin.ErrUnknownProfile
	}
	written, err := s.writePasted(p, token)
	if err != nil {
		s.log.Warn().Str("profile", p.name).Err(err).Msg("status page: the token pasted was not written")
		return "", err
	}
	s.log.Info().Str("profile", p.name).Str("token", rewrite.Fingerprint(token)).Str("written", written).
		Msg("status page: new token written")
	_ = s.Reload(false) // the config changed, or a token_file: rereadTokenFiles
	return written, nil
}

// Status returns a snapshot of every profile, tokens as fingerprints.
func (s *Server) Status() admin.Status {
	s.status.mu.Lock()
	st := admin.Status{Config: s.runtime().cfg.Path, LastReload: s.status.lastReload, LastReloadError: s.status.err}
	s.status.mu.Unlock()
	for _, p := range s.profiles.all() {
		ps := s.profileStatus(p)
		ps.LastReload, ps.LastReloadError = st.LastReload, st.LastReloadError
		st.Profiles = append(st.Profiles, ps)
	}
	st.Shared = s.sharedStatus()
	return st
}

func (s *Server) profileStatus(p *profile) admin.ProfileStatus {
	gs := p.gate.Status()
	ps := admin.ProfileStatus{Name: p.name, State: gs.State, Token: rewrite.Fingerprint(gs.Token), Waiting: gs.Waiting}
	if !gs.PausedSince.IsZero() {
		t := gs.PausedSince.UTC()
		ps.PausedSince = &t
	}
	rateStatus(p, &ps)
	return ps
}

// Summary returns what the status page shows.
func (s *Server) Summary() admin.Summary {
	st := s.Status()
	cfg := s.runtime().cfg
	sum := admin.Summary{Config: st.Config, Page: s.pageURL(), AdminTokenRequired: cfg.AdminToken != "",
		LastReload: st.LastReload, LastReloadError: st.LastReloadError, Events: s.recentEvents(""), Shared: st.Shared}
	for _, ps := range st.Profiles {
		p := s.profiles.get(ps.Name)
		if p == nil {
			continue
		}
		pc := p.config()
		src, detail := tokenSource(pc)
		sum.Profiles = append(sum.Profiles, admin.ProfileSummary{ProfileStatus: ps, Source: src, SourceDetail: detail,
			TokenUntried: p.gate.Status().Probing,
			CanPaste:     canPaste(pc), Do: s.whatToDo(pc), LastError: s.human.lastErrorOf(ps.Name), Events: s.recentEvents(ps.Name)})
	}
	return sum
}

// tokenSource names where a profile's token comes from.
func tokenSource(pc config.Profile) (source, detail string) {
	switch {
	case pc.Token != "":
		return "token", ""
	case pc.TokenFile != "":
		return "token_file", pc.TokenFile
	case pc.TokenEnv != "":
		return "token_env", pc.TokenEnv
	case len(pc.TokenCommand) > 0:
		return "token_command", pc.TokenCommand[0]
	case pc.OAuth != nil:
		return "oauth", ""
	}
	return "none", ""
}

// canPaste reports whether the page can write the profile's new token: an
// inline token (or none yet) goes into the config, a token_file's into
// its file.
func canPaste(pc config.Profile) bool {
	return pc.Token != "" || pc.TokenFile != "" || !pc.HasTokenSource()
}

// errCannotPaste: the profile's token is not kept where the page can
// write it.
var errCannotPaste = errors.New("the page cannot write this profile's token")

// writePasted writes token where the profile reads it and returns that
// file.
func (s *Server) writePasted(p *profile, token string) (string, error) {
	pc := p.config()
	if !canPaste(pc) {
		return "", errors.Join(errCannotPaste, errors.New(s.whatToDo(pc)))
	}
	if err := CheckToken(token); err != nil {
		return "", err
	}
	if pc.TokenFile != "" {
		return pc.TokenFile, SetTokenFile(pc.TokenFile, token)
	}
	path := s.runtime().cfg.Path
	// An OAuth refresh writing the same file waits (persistOAuth).
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	return path, SetTokenInFile(path, p.name, token, s.getenv)
}

// rateStatus adds the scheduler's state to a profile's /-/status entry
// (docs/design.md#the-rate-limit-scheduler).
func rateStatus(p *profile, ps *admin.ProfileStatus) {
	st := p.sched.Status()
	ps.RateWaiting = st.Waiting
	if !st.HeldUntil.IsZero() {
		t := st.HeldUntil.UTC().Truncate(time.Millisecond)
		ps.RateLimitedUntil = &t
		ps.RateLimitReason = st.HoldReason
	}
	if st.Pace > 0 {
		pace := float64(int64(st.Pace*100)) / 100
		ps.Pace = &pace
	}
}

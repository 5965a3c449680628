package proxy

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

// ProfileStatus is one profile in GET /-/status. It never holds a token,
// only its fingerprint.
type ProfileStatus struct {
	Name            string     `json:"name"`
	State           string     `json:"state"` // "ok" or "paused"
	Token           string     `json:"token"` // fingerprint
	Waiting         int        `json:"waiting"`
	PausedSince     *time.Time `json:"paused_since"`
	LastReload      time.Time  `json:"last_reload"`
	LastReloadError string     `json:"last_reload_error"`
	// Rate limits (docs/design.md#the-rate-limit-scheduler, ratemetrics.go): the end of the current hold
	// (null when not held) and its rate_limit_reason, the learned pace in
	// calls/s (null when unpaced), and the calls waiting for either.
	RateLimitedUntil *time.Time `json:"rate_limited_until"`
	RateLimitReason  string     `json:"rate_limit_reason,omitempty"`
	Pace             *float64   `json:"pace"`
	RateWaiting      int        `json:"rate_waiting"`
}

// Status is the body of GET /-/status.
type Status struct {
	Config          string          `json:"config"`
	LastReload      time.Time       `json:"last_reload"`
	LastReloadError string          `json:"last_reload_error"`
	Profiles        []ProfileStatus `json:"profiles"`
	// Shared is the link to the other replicas (SPEC §14); absent when
	// the shared mode is off.
	Shared *SharedStatus `json:"shared,omitempty"`
}

// serveAdmin serves the proxy's own endpoints (docs/design.md#admin-endpoints). Only loopback
// callers are served; with admin_token set, POSTs must carry it.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) {
		writeNotionError(w, http.StatusForbidden, codeAdminForbidden, "admin endpoints answer loopback callers only")
		return
	}
	if r.Method == http.MethodPost && !s.adminAuthorized(r) {
		writeNotionError(w, http.StatusUnauthorized, codeAdminUnauthorized, "admin POSTs need Authorization: Bearer <admin_token>")
		return
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /-/healthz", "HEAD /-/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(healthText(s.logWriter, s.now())))
	case "GET /-/status":
		writeJSON(w, http.StatusOK, s.Status())
	case "POST /-/revoke":
		name := r.URL.Query().Get("profile")
		if name == "" {
			name = s.profiles.all()[0].name
		}
		p := s.profiles.get(name)
		if p == nil {
			writeNotionError(w, http.StatusNotFound, codeUnknownProfile, "no profile named "+name)
			return
		}
		p.gate.Revoke(syntheticInvalidToken())
		s.log.Info().Str("profile", name).Msg("token marked rejected by POST /-/revoke")
		writeJSON(w, http.StatusOK, s.profileStatus(p))
	case "GET /metrics":
		s.metrics.handler().ServeHTTP(w, r)
	case "POST /-/reload":
		if err := s.Reload(true); err != nil {
			writeNotionError(w, http.StatusUnprocessableEntity, codeReloadFailed, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.Status())
	default:
		if s.servePage(w, r) { // the status page (page.go)
			return
		}
		writeNotionError(w, http.StatusNotFound, codeNotFound, "no admin endpoint "+route)
	}
}

// Status returns a snapshot of every profile, tokens as fingerprints.
func (s *Server) Status() Status {
	s.status.mu.Lock()
	st := Status{Config: s.runtime().cfg.Path, LastReload: s.status.lastReload, LastReloadError: s.status.err}
	s.status.mu.Unlock()
	for _, p := range s.profiles.all() {
		ps := s.profileStatus(p)
		ps.LastReload, ps.LastReloadError = st.LastReload, st.LastReloadError
		st.Profiles = append(st.Profiles, ps)
	}
	st.Shared = s.sharedStatus()
	return st
}

func (s *Server) profileStatus(p *profile) ProfileStatus {
	gs := p.gate.Status()
	ps := ProfileStatus{Name: p.name, State: gs.State, Token: rewrite.Fingerprint(gs.Token), Waiting: gs.Waiting}
	if !gs.PausedSince.IsZero() {
		t := gs.PausedSince.UTC()
		ps.PausedSince = &t
	}
	rateStatus(p, &ps)
	return ps
}

func (s *Server) adminAuthorized(r *http.Request) bool {
	want := s.runtime().cfg.AdminToken
	if want == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func isLoopback(remoteAddr string) bool {
	ip := net.ParseIP(hostOnly(remoteAddr))
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

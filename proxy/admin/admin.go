// Package admin serves the proxy's own endpoints (docs/design.md#admin-endpoints):
// GET /-/healthz, GET /-/status, POST /-/revoke, POST /-/reload, GET /metrics
// and the status page (page.go), and prints `notion-proxy status`
// (report.go). It owns their wire formats and checks who may call them;
// what they show and do comes from a Backend, which the proxy's Server
// implements and the tests fake.
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Backend is what the admin endpoints read and do. Its methods are
// called only for callers already allowed (loopback; for a POST, the
// admin token).
type Backend interface {
	// Status is a snapshot of every profile, tokens as fingerprints.
	Status() Status
	// Summary is what the status page shows.
	Summary() Summary
	// Health is the body of /-/healthz.
	Health() string
	// Revoke marks the token of profile ("" = the first) rejected, as if
	// Notion had answered 401, and returns the profile's status; an
	// unknown profile is ErrUnknownProfile.
	Revoke(profile string) (ProfileStatus, error)
	// Reload rereads the config and token sources now.
	Reload() error
	// SetToken writes a token pasted into the page where profile reads
	// it, then reloads, and returns the file written; an unknown profile
	// is ErrUnknownProfile. Its errors never hold the token.
	SetToken(profile, token string) (written string, err error)
	// Metrics serves GET /metrics.
	Metrics() http.Handler
	// AdminToken is the token admin POSTs must carry, "" for none.
	AdminToken() string
	// PageSecret is the status page's per-process form secret.
	PageSecret() string
}

// ErrUnknownProfile is a Backend's answer for a profile not in the config.
var ErrUnknownProfile = errors.New("no such profile")

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
	// Rate limits (docs/design.md#the-rate-limit-scheduler): the end of the current hold
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
	// Shared is the link to the other replicas
	// (docs/design.md#many-replicas); absent when the shared mode is off.
	Shared *SharedStatus `json:"shared,omitempty"`
}

// SharedStatus is the "shared" part of GET /-/status.
type SharedStatus struct {
	// State is "connecting", "connected" or "degraded" (serving on this
	// replica's own state until Redis answers).
	State string `json:"state"`
	// LastError is the last failure talking to Redis, "" if none; it
	// stays after a recovery.
	LastError string    `json:"last_error"`
	Since     time.Time `json:"since"`
}

// Handler serves the admin endpoints and the status page from a Backend.
type Handler struct {
	b Backend
}

// New returns the handler of the admin endpoints over b.
func New(b Backend) *Handler {
	return &Handler{b: b}
}

// ServeHTTP serves the proxy's own endpoints. Only loopback callers are
// served; with an admin token set, POSTs must carry it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) {
		writeError(w, http.StatusForbidden, codeAdminForbidden, "admin endpoints answer loopback callers only")
		return
	}
	if r.Method == http.MethodPost && !h.authorized(r) {
		writeError(w, http.StatusUnauthorized, codeAdminUnauthorized, "admin POSTs need Authorization: Bearer <admin_token>")
		return
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /-/healthz", "HEAD /-/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(h.b.Health()))
	case "GET /-/status":
		writeJSON(w, http.StatusOK, h.b.Status())
	case "POST /-/revoke":
		name := r.URL.Query().Get("profile")
		ps, err := h.b.Revoke(name)
		if err != nil {
			writeError(w, http.StatusNotFound, codeUnknownProfile, "no profile named "+name)
			return
		}
		writeJSON(w, http.StatusOK, ps)
	case "GET /metrics":
		h.b.Metrics().ServeHTTP(w, r)
	case "POST /-/reload":
		if err := h.b.Reload(); err != nil {
			writeError(w, http.StatusUnprocessableEntity, codeReloadFailed, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, h.b.Status())
	default:
		if h.servePage(w, r) { // the status page (page.go)
			return
		}
		writeError(w, http.StatusNotFound, codeNotFound, "no admin endpoint "+route)
	}
}

func (h *Handler) authorized(r *http.Request) bool {
	want := h.b.AdminToken()
	if want == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func isLoopback(remoteAddr string) bool {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers in Notion's error shape (docs/design.md#errors).
func writeError(w http.ResponseWriter, status int, code, msg string) {
	body := rewrite.ErrorBody(status, code, msg)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

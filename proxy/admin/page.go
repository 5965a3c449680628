package admin

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/notify"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// The status page for a person (docs/design.md#the-person-who-fixes-the-token): GET /-/ is plain HTML, CSS and
// a small script shipped in the binary, no external asset. The script
// polls GET /-/summary and, for a paused profile whose token is inline or
// in a token_file, offers a form that POSTs the new token to /-/token.
//
// The form is safe from other pages: besides the Host and Origin checks
// every request passes (docs/design.md#browsers), POST /-/token needs the page's secret,
// random per process and readable only by a page of the proxy's own
// origin, in the X-Notion-Proxy-Page header (which no cross-origin form or
// simple request can send), and a JSON body; with admin_token set, the
// admin token too, like every admin POST. The token pasted is never
// logged, put in an event, or answered back: only its fingerprint.

//go:embed page
var pageFiles embed.FS

// Page paths and the header that carries the page's secret.
const (
	pagePath         = "/-/"
	pageSummaryPath  = "/-/summary"
	pageTokenPath    = "/-/token"
	pageSecretHeader = "X-Notion-Proxy-Page"
	pageSecretSlot   = "{{PAGE_SECRET}}"
	maxPasteBytes    = 64 << 10
)

// pageCSP lets the page load only its own script and style and talk only
// to its own origin; no other page may frame it.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ProfileSummary is one profile on the status page and in `notion-proxy
// status`: its status, where its token comes from, what to do, and what
// happened lately. It never holds a token.
type ProfileSummary struct {
	ProfileStatus
	Source       string         `json:"source"`        // token, token_file, token_env, token_command, oauth or none
	SourceDetail string         `json:"source_detail"` // the file, variable or program
	CanPaste     bool           `json:"can_paste"`     // the page can write its new token
	TokenUntried bool           `json:"token_untried"` // paused with a new token the next call tries
	Do           string         `json:"do"`            // what to do while it is paused
	LastError    string         `json:"last_error"`
	Events       []notify.Event `json:"events"` // the last ones, oldest first
}

// Summary is the body of GET /-/summary.
type Summary struct {
	Config             string           `json:"config"`
	Page               string           `json:"page"`
	AdminTokenRequired bool             `json:"admin_token_required"`
	LastReload         time.Time        `json:"last_reload"`
	LastReloadError    string           `json:"last_reload_error"`
	Events             []notify.Event   `json:"events"` // about the whole config
	Profiles           []ProfileSummary `json:"profiles"`
	Shared             *SharedStatus    `json:"shared,omitempty"` // the link to the other replicas, if on
}

// servePage serves the status page's paths and reports whether r was one
// of them. ServeHTTP has already checked the caller (loopback; for a
// POST, admin_token).
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method + " " + r.URL.Path {
	case "GET " + pagePath, "HEAD " + pagePath:
		h.servePageFile(w, r, "page/index.html")
	case "GET /-/page.css", "GET /-/page.js", "GET /-/favicon.svg":
		h.servePageFile(w, r, "page/"+strings.TrimPrefix(r.URL.Path, "/-/"))
	case "GET " + pageSummaryPath:
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, h.b.Summary())
	case "POST " + pageTokenPath:
		h.servePaste(w, r)
	default:
		return false
	}
	return true
}

func (h *Handler) servePageFile(w http.ResponseWriter, r *http.Request, name string) {
	data, err := pageFiles.ReadFile(name)
	if err != nil {
		writeError(w, http.StatusNotFound, codeNotFound, "no page file "+name)
		return
	}
	if name == "page/index.html" {
		data = bytes.Replace(data, []byte(pageSecretSlot), []byte(h.b.PageSecret()), 1)
	}
	hd := w.Header()
	hd.Set("Content-Type", pageType(name))
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}

// pageType is the Content-Type of one of the page's files.
func pageType(name string) string {
	switch {
	case strings.HasSuffix(name, ".css"):
		return "text/css; charset=utf-8"
	case strings.HasSuffix(name, ".js"):
		return "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".svg"):
		return "image/svg+xml"
	}
	return "text/html; charset=utf-8"
}

// pasteRequest is the body of POST /-/token.
type pasteRequest struct {
	Profile string `json:"profile"`
	Token   string `json:"token"`
}

// pasteAnswer is the answer to a token written: never the token itself.
type pasteAnswer struct {
	Profile string `json:"profile"`
	Token   string `json:"token"`   // fingerprint
	Written string `json:"written"` // the file written
}

// servePaste writes a token pasted into the page (Backend.SetToken): into
// the config like `notion-proxy token set`, or into the profile's
// token_file; then the backend reloads at once, so the waiting calls
// resume without waiting for the file watcher.
func (h *Handler) servePaste(w http.ResponseWriter, r *http.Request) {
	got := r.Header.Get(pageSecretHeader)
	if subtle.ConstantTimeCompare([]byte(got), []byte(h.b.PageSecret())) != 1 {
		writeError(w, http.StatusForbidden, codePageForbidden,
			"POST /-/token is for the status page at "+pagePath+" only (its secret is missing or wrong)")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, codePageForbidden, "POST /-/token takes application/json")
		return
	}
	var req pasteRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxPasteBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "the body is not {\"profile\": ..., \"token\": ...}")
		return
	}
	token := strings.TrimSpace(req.Token)
	written, err := h.b.SetToken(req.Profile, token)
	switch {
	case errors.Is(err, ErrUnknownProfile):
		writeError(w, http.StatusNotFound, codeUnknownProfile, "no profile named "+req.Profile)
		return
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, codeTokenNotWritten, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, pasteAnswer{Profile: req.Profile, Token: rewrite.Fingerprint(token), Written: written})
}

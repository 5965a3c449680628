package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

// fakeBackend is a Backend whose answers a test sets and whose calls it
// reads back.
type fakeBackend struct {
	status     Status
	summary    Summary
	reloadErr  error
	setErr     error
	adminToken string
	secret     string

	mu       sync.Mutex
	revoked  []string
	reloads  int
	setCalls [][2]string
}

func (f *fakeBackend) Status() Status   { return f.status }
func (f *fakeBackend) Summary() Summary { return f.summary }
func (f *fakeBackend) Health() string   { return "ok\n" }
func (f *fakeBackend) AdminToken() string {
	return f.adminToken
}
func (f *fakeBackend) PageSecret() string { return f.secret }
func (f *fakeBackend) Metrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "# metrics\n") })
}

func (f *fakeBackend) Revoke(profile string) (ProfileStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, profile)
	if profile != "" && profile != "default" {
		return ProfileStatus{}, ErrUnknownProfile
	}
	return ProfileStatus{Name: "default", State: "paused"}, nil
}

func (f *fakeBackend) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reloads++
	return f.reloadErr
}

func (f *fakeBackend) SetToken(profile, token string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setCalls = append(f.setCalls, [2]string{profile, token})
	if profile != "default" {
		return "", ErrUnknownProfile
	}
	if f.setErr != nil {
		return "", f.setErr
	}
	return "/c.yaml", nil
}

// request is one call to the handler; remote defaults to loopback.
type request struct {
	method, path, body, remote string
	header                     map[string]string
}

func serve(t *testing.T, b Backend, rq request) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(rq.method, "http://127.0.0.1:8787"+rq.path, strings.NewReader(rq.body))
	r.RemoteAddr = "127.0.0.1:50000"
	if rq.remote != "" {
		r.RemoteAddr = rq.remote
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	New(b).ServeHTTP(w, r)
	return w
}

// code is the Notion-shaped error code of an answer, or "".
func code(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code < 400 {
		return ""
	}
	return rewrite.ErrorCode(w.Header(), w.Body.Bytes())
}

func TestHandlerRoutes(t *testing.T) {
	pasteHeaders := map[string]string{pageSecretHeader: "s3cret", "Content-Type": "application/json"}
	tests := []struct {
		desc     string
		b        *fakeBackend
		rq       request
		status   int
		code     string // the error code, for an error
		contains string // in the body, for a success
	}{
		{"a caller off loopback is refused", &fakeBackend{}, request{method: "GET", path: "/-/status", remote: "10.0.0.2:4000"},
			http.StatusForbidden, codeAdminForbidden, ""},
		{"IPv6 loopback is served", &fakeBackend{}, request{method: "GET", path: "/-/healthz", remote: "[::1]:4000"}, http.StatusOK, "", "ok\n"},
		{"healthz is the backend's health text", &fakeBackend{}, request{method: "GET", path: "/-/healthz"}, http.StatusOK, "", "ok\n"},
		{"metrics is the backend's handler", &fakeBackend{}, request{method: "GET", path: "/metrics"}, http.StatusOK, "", "# metrics\n"},
		{"a GET needs no admin token", &fakeBackend{adminToken: "adm"}, request{method: "GET", path: "/-/status"}, http.StatusOK, "", `"profiles"`},
		{"a POST without the admin token is refused", &fakeBackend{adminToken: "adm"}, request{method: "POST", path: "/-/reload"},
			http.StatusUnauthorized, codeAdminUnauthorized, ""},
		{"a POST with a wrong admin token is refused", &fakeBackend{adminToken: "adm"},
			request{method: "POST", path: "/-/reload", header: map[string]string{"Authorization": "Bearer nope"}},
			http.StatusUnauthorized, codeAdminUnauthorized, ""},
		{"a POST with the admin token is served", &fakeBackend{adminToken: "adm"},
			request{method: "POST", path: "/-/reload", header: map[string]string{"Authorization": "Bearer adm"}}, http.StatusOK, "", `"config"`},
		{"a failed reload says why", &fakeBackend{reloadErr: errors.New("c.yaml:3: bad")}, request{method: "POST", path: "/-/reload"},
			http.StatusUnprocessableEntity, codeReloadFailed, ""},
		{"revoke answers the profile's status", &fakeBackend{}, request{method: "POST", path: "/-/revoke"}, http.StatusOK, "", `"state": "paused"`},
		{"revoke of an unknown profile is 404", &fakeBackend{}, request{method: "POST", path: "/-/revoke?profile=zz"},
			http.StatusNotFound, codeUnknownProfile, ""},
		{"an unknown path is 404", &fakeBackend{}, request{method: "GET", path: "/-/nope"}, http.StatusNotFound, codeNotFound, ""},
		{"the page carries its secret", &fakeBackend{secret: "s3cret"}, request{method: "GET", path: "/-/"}, http.StatusOK, "", "s3cret"},
		{"the summary is the backend's", &fakeBackend{summary: Summary{Page: "http://127.0.0.1:1/-/"}},
			request{method: "GET", path: pageSummaryPath}, http.StatusOK, "", `"page": "http://127.0.0.1:1/-/"`},
		{"a paste without the page's secret is refused", &fakeBackend{secret: "s3cret"},
			request{method: "POST", path: pageTokenPath, body: `{"profile":"default","token":"t"}`, header: map[string]string{"Content-Type": "application/json"}},
			http.StatusForbidden, codePageForbidden, ""},
		{"a paste that is not JSON is refused", &fakeBackend{secret: "s3cret"},
			request{method: "POST", path: pageTokenPath, body: "profile=default", header: map[string]string{pageSecretHeader: "s3cret", "Content-Type": "application/x-www-form-urlencoded"}},
			http.StatusUnsupportedMediaType, codePageForbidden, ""},
		{"a paste with a broken body is 400", &fakeBackend{secret: "s3cret"},
			request{method: "POST", path: pageTokenPath, body: "{", header: pasteHeaders}, http.StatusBadRequest, codeBadRequest, ""},
		{"a paste for an unknown profile is 404", &fakeBackend{secret: "s3cret"},
			request{method: "POST", path: pageTokenPath, body: `{"profile":"zz","token":"t"}`, header: pasteHeaders}, http.StatusNotFound, codeUnknownProfile, ""},
		{"a paste the backend could not write is 422", &fakeBackend{secret: "s3cret", setErr: errors.New("the token is empty")},
			request{method: "POST", path: pageTokenPath, body: `{"profile":"default","token":" "}`, header: pasteHeaders},
			http.StatusUnprocessableEntity, codeTokenNotWritten, ""},
		{"a paste written answers the fingerprint, never the token", &fakeBackend{secret: "s3cret"},
			request{method: "POST", path: pageTokenPath, body: `{"profile":"default","token":" ntn_secret123 "}`, header: pasteHeaders},
			http.StatusOK, "", `"token": "` + rewrite.Fingerprint("ntn_secret123") + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			w := serve(t, tt.b, tt.rq)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := code(t, w); got != tt.code {
				t.Errorf("code %q, want %q: %s", got, tt.code, w.Body)
			}
			if !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("body lacks %q: %s", tt.contains, w.Body)
			}
			if strings.Contains(w.Body.String(), "ntn_secret123") {
				t.Errorf("the answer holds the token: %s", w.Body)
			}
		})
	}
}

// TestHandlerCallsBackend checks what reaches the backend: the profile
// named (or "" for the first), the token trimmed, a reload.
func TestHandlerCallsBackend(t *testing.T) {
	b := &fakeBackend{secret: "s3cret"}
	serve(t, b, request{method: "POST", path: "/-/revoke"})
	serve(t, b, request{method: "POST", path: "/-/revoke?profile=default"})
	serve(t, b, request{method: "POST", path: "/-/reload"})
	serve(t, b, request{method: "POST", path: pageTokenPath, body: `{"profile":"default","token":"  tok\n"}`,
		header: map[string]string{pageSecretHeader: "s3cret", "Content-Type": "application/json; charset=utf-8"}})
	if want := []string{"", "default"}; strings.Join(b.revoked, ",") != strings.Join(want, ",") {
		t.Errorf("revoked %q, want %q", b.revoked, want)
	}
	if b.reloads != 1 {
		t.Errorf("%d reloads, want 1", b.reloads)
	}
	if len(b.setCalls) != 1 || b.setCalls[0] != [2]string{"default", "tok"} {
		t.Errorf("SetToken calls %q, want one for default with the token trimmed", b.setCalls)
	}
}

// TestPageHeaders checks the page's files are served with the headers
// that keep other pages from framing or scripting it.
func TestPageHeaders(t *testing.T) {
	for _, path := range []string{"/-/", "/-/page.css", "/-/page.js", "/-/favicon.svg"} {
		w := serve(t, &fakeBackend{secret: "s"}, request{method: "GET", path: path})
		if w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Fatalf("GET %s: %d, %d bytes", path, w.Code, w.Body.Len())
		}
		h := w.Header()
		if h.Get("Content-Security-Policy") != pageCSP || h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s headers: %v", path, h)
		}
	}
	if w := serve(t, &fakeBackend{}, request{method: "HEAD", path: "/-/"}); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD /-/: %d with %d bytes, want 200 and no body", w.Code, w.Body.Len())
	}
}

// TestStatusWireFormat pins the field names of GET /-/status: clients and
// `notion-proxy token set` read them.
func TestStatusWireFormat(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pace := 2.5
	st := Status{Config: "/c.yaml", LastReload: at, Profiles: []ProfileStatus{{Name: "a", State: "paused", Token: "fp", Waiting: 1,
		PausedSince: &at, LastReload: at, RateLimitedUntil: &at, RateLimitReason: "rate_limited", Pace: &pace, RateWaiting: 2}},
		Shared: &SharedStatus{State: "connected", Since: at}}
	got, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"config":"/c.yaml","last_reload":"2026-01-02T03:04:05Z","last_reload_error":"","profiles":[{"name":"a","state":"paused",` +
		`"token":"fp","waiting":1,"paused_since":"2026-01-02T03:04:05Z","last_reload":"2026-01-02T03:04:05Z","last_reload_error":"",` +
		`"rate_limited_until":"2026-01-02T03:04:05Z","rate_limit_reason":"rate_limited","pace":2.5,"rate_waiting":2}],` +
		`"shared":{"state":"connected","last_error":"","since":"2026-01-02T03:04:05Z"}}`
	if string(got) != want {
		t.Errorf("GET /-/status body\n got %s\nwant %s", got, want)
	}
}

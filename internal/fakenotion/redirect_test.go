package fakenotion_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

func TestRedirectNextAnswersARedirectAndAppliesNothing(t *testing.T) {
	s := startFake(t, tok)
	client := s.Client()
	// The caller sees the redirect itself, as a proxy must pass it on.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	const location = "http://127.0.0.1:1/elsewhere?x=1"
	s.RedirectNext(1, http.StatusTemporaryRedirect, location)

	write := call{method: "POST", path: "/v1/pages", token: tok, version: version, body: `{"parent":{"workspace":true}}`}
	a := mustSend(t, client, s, write)
	wantStatus(t, a, http.StatusTemporaryRedirect)
	if got := a.header.Get("Location"); got != location {
		t.Errorf("Location = %q, want %q unchanged", got, location)
	}
	if a.header.Get("X-Notion-Request-Id") != "" {
		t.Errorf("a redirect carries x-notion-request-id %q: Notion never redirects", a.header.Get("X-Notion-Request-Id"))
	}
	if r := lastRequest(t, s); r.Outcome != fakenotion.OutcomeRedirected || r.Status != http.StatusTemporaryRedirect {
		t.Errorf("record = %+v", r)
	}
	if len(s.Applied()) != 0 {
		t.Errorf("a redirected write was applied: %v", s.Applied())
	}
	wantStatus(t, mustSend(t, client, s, write), http.StatusOK)
	if len(s.Applied()) != 1 {
		t.Errorf("the next write was not applied: %v", s.Applied())
	}
}

func TestRedirectNextSparesOAuthAndIsClearedByReset(t *testing.T) {
	s := startFake(t, tok)
	s.EnableOAuth("cid", "csecret", "rt0")
	s.RedirectNext(2, http.StatusFound, "http://127.0.0.1:1/")
	wantStatus(t, refresh(t, s, "cid", "csecret", "rt0"), http.StatusOK)
	s.Reset()
	client := s.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error {
		return errors.New("the fake redirected after Reset")
	}
	wantStatus(t, mustSend(t, client, s, call{method: "GET", path: "/v1/users/me", token: tok, version: version}), http.StatusOK)
}

func TestControlHandlerSetsARedirect(t *testing.T) {
	s := startFake(t, tok)
	ctl := httptest.NewServer(s.ControlHandler())
	defer ctl.Close()
	control(t, ctl.URL, "POST", "/redirect?n=1&status=302&location=http%3A%2F%2F127.0.0.1%3A1%2Fx", nil)
	client := s.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	a := mustSend(t, client, s, call{method: "GET", path: "/v1/users/me", token: tok, version: version})
	wantStatus(t, a, http.StatusFound)
	if got := a.header.Get("Location"); got != "http://127.0.0.1:1/x" {
		t.Errorf("Location = %q", got)
	}
}

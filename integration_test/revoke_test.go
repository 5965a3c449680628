package integration_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Tests of the admin endpoints for test harnesses (docs/design.md#admin-endpoints): POST
// /-/revoke pauses a profile without calling Notion, POST /-/reload reloads,
// and admin_token guards both.

// admin POSTs to an admin endpoint, with the admin token when tok is not "".
func admin(t *testing.T, p *proc, path, tok string) reply {
	t.Helper()
	var hdr map[string]string
	if tok != "" {
		hdr = map[string]string{"Authorization": "Bearer " + tok}
	}
	r := send(context.Background(), p.baseClient(), "POST", p.baseURL()+path, nil, hdr)
	if r.err != nil {
		t.Fatalf("POST %s: %v", path, r.err)
	}
	return r
}

func TestAdminRevokeThenATokenWrite(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))

	t.Run("POST /-/revoke pauses the profile without calling Notion", func(t *testing.T) {
		r := admin(t, p, "/-/revoke?profile=default", "")
		var ps profileState
		if err := json.Unmarshal(r.body, &ps); err != nil || r.code != 200 || ps.State != "paused" || ps.Name != "default" {
			t.Fatalf("got %v", r)
		}
		if ps := p.profile(t, "default"); !pausedWith(0)(ps) {
			t.Errorf("status %+v", ps)
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("the fake saw %d requests", n)
		}
	})
	t.Run("an unknown profile is a 404", func(t *testing.T) {
		if r := admin(t, p, "/-/revoke?profile=nope", ""); r.code != 404 {
			t.Errorf("got %v", r)
		}
	})
	var waiting []<-chan reply
	t.Run("calls wait and nothing reaches Notion", func(t *testing.T) {
		for i, m := range modes {
			id := "after-revoke-" + m.name
			waiting = append(waiting, sendAsync(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages"), pageBody(id), callHeader(id)))
			p.waitProfile(t, "default", "the call waiting", pausedWith(i+1))
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("the fake saw %d requests while the profile was revoked", n)
		}
	})
	t.Run("Notion's OAuth endpoints are not paused", func(t *testing.T) {
		fake.EnableOAuth("client-id", "client-secret", "refresh-1")
		r := send(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/oauth/token",
			[]byte(`{"grant_type":"refresh_token","refresh_token":"refresh-1"}`),
			map[string]string{"Authorization": "Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ=", "Content-Type": "application/json"})
		if r.err != nil || r.code != 200 {
			t.Errorf("got %v", r)
		}
		if ps := p.profile(t, "default"); !pausedWith(len(modes))(ps) {
			t.Errorf("status %+v, want still paused with every call waiting", ps)
		}
		stillWaiting(t, "after an OAuth call", waiting...)
	})
	t.Run("a config write that keeps the rejected token keeps the calls waiting", func(t *testing.T) {
		before := p.countLogs("config reloaded")
		writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "notion_version: \"2022-06-28\"\n", tokA)))
		testwait.Until(t, 5*time.Second, "the reload", func() bool { return p.countLogs("config reloaded") > before })
		if ps := p.profile(t, "default"); !pausedWith(len(modes))(ps) {
			t.Errorf("status %+v, want still paused with every call waiting", ps)
		}
		stillWaiting(t, "after rewriting the rejected token", waiting...)
		if n := len(withToken(fake, tokA)); n != 0 {
			t.Errorf("the fake saw the revoked token %d times", n)
		}
	})
	t.Run("a token write releases the calls with the new token", func(t *testing.T) {
		writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokB)))
		for i, m := range modes {
			id := "after-revoke-" + m.name
			if r := await(t, id, waiting[i], 10*time.Second); r.err != nil || r.code != 200 {
				t.Errorf("%s: %v", m.name, r)
			}
			if sends := withID(fake, id); len(sends) != 1 || sends[0].Token != tokB {
				t.Errorf("%s: the fake saw %d sends, want one with the new token", m.name, len(sends))
			}
		}
		if sends := withToken(fake, tokB); len(sends) == 0 || sends[0].Header.Get("X-Test-Call-Id") != "after-revoke-"+modes[0].name {
			t.Errorf("the oldest waiting call was not replayed first")
		}
		p.waitProfile(t, "default", "ok", isOK)
		if n := len(withToken(fake, tokA)); n != 0 {
			t.Errorf("the fake saw the revoked token %d times", n)
		}
	})
	p.stop()
	if n := p.countLogs(pauseLine); n != 1 {
		t.Errorf("%d pause lines, want 1", n)
	}
	if n := p.countLogs(resumeLine); n != 1 {
		t.Errorf("%d resume lines, want 1", n)
	}
	secretsIn(t, p, tokA, tokB)
}

func TestAdminTokenGuardsAdminPosts(t *testing.T) {
	const adminTok = "sekret"
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "admin_token: "+adminTok+"\n", tokA))
	for _, path := range []string{"/-/revoke?profile=default", "/-/reload"} {
		t.Run("POST "+path+" without the admin token is refused", func(t *testing.T) {
			for _, tok := range []string{"", "wrong"} {
				r := admin(t, p, path, tok)
				var e notionError
				if err := json.Unmarshal(r.body, &e); err != nil || r.code != 401 || e.Object != "error" {
					t.Errorf("token %q: got %v", tok, r)
				}
			}
			if ps := p.profile(t, "default"); !isOK(ps) {
				t.Errorf("status %+v", ps)
			}
		})
	}
	t.Run("GET /-/status needs no admin token", func(t *testing.T) {
		if r := send(context.Background(), p.baseClient(), "GET", p.baseURL()+"/-/status", nil, nil); r.code != 200 {
			t.Errorf("got %v", r)
		}
	})
	t.Run("POST /-/reload with the admin token reloads", func(t *testing.T) {
		before := p.countLogs("config reloaded")
		if r := admin(t, p, "/-/reload", adminTok); r.code != 200 {
			t.Fatalf("got %v", r)
		}
		testwait.Until(t, 5*time.Second, "a reload log line", func() bool { return p.countLogs("config reloaded") > before })
	})
	t.Run("POST /-/revoke with the admin token pauses", func(t *testing.T) {
		if r := admin(t, p, "/-/revoke?profile=default", adminTok); r.code != 200 {
			t.Fatalf("got %v", r)
		}
		if ps := p.profile(t, "default"); ps.State != "paused" {
			t.Errorf("status %+v", ps)
		}
	})
	p.stop()
	secretsIn(t, p, tokA, adminTok)
}

package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Tests of several profiles (docs/design.md#tokens, docs/design.md#the-gate-pause-and-replay): each has its own token and pause
// state, and a call is selected by the program's own Bearer token or proxy
// user.

// twoProfiles is a config with profiles alpha and beta.
func twoProfiles(fake *fakenotion.Server, fakeCA, alphaTok, betaTok string) string {
	return "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) + fmt.Sprintf(`profiles:
  - name: alpha
    token: %s
    match: [alpha-key, alpha-user]
  - name: beta
    token: %s
    match: [beta-key, beta-user]
`, alphaTok, betaTok)
}

// asProxyUser returns a copy of a forward-proxy client that presents user as
// its proxy user (Proxy-Authorization: Basic).
func asProxyUser(t *testing.T, c *http.Client, user string) *http.Client {
	t.Helper()
	tr := c.Transport.(*http.Transport).Clone()
	base := tr.Proxy
	tr.Proxy = func(r *http.Request) (*url.URL, error) {
		u, err := base(r)
		if u != nil {
			u = &url.URL{Scheme: u.Scheme, Host: u.Host, User: url.UserPassword(user, "pw")}
		}
		return u, err
	}
	return &http.Client{Timeout: c.Timeout, Transport: tr}
}

// lastSeenToken is the token the fake saw on the last send of call id.
func lastSeenToken(fake *fakenotion.Server, id string) string {
	sends := withID(fake, id)
	if len(sends) == 0 {
		return ""
	}
	return sends[len(sends)-1].Token
}

func TestProfilesPauseIndependently(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, twoProfiles(fake, fakeCA, tokA, tokB))
	bearer := func(key, id string) map[string]string {
		h := callHeader(id)
		h["Authorization"] = "Bearer " + key
		return h
	}

	for _, m := range modes {
		t.Run(m.name+": the program's own Bearer token selects the profile", func(t *testing.T) {
			for key, want := range map[string]string{"alpha-key": tokA, "beta-key": tokB, "someone-else": tokA} {
				id := "select-" + m.name + "-" + key
				r := send(context.Background(), m.client(p), "GET", m.url(p, "/v1/users/me"), nil, bearer(key, id))
				if r.err != nil || r.code != 200 {
					t.Fatalf("%s: %v", key, r)
				}
				if got := lastSeenToken(fake, id); got != want {
					t.Errorf("Bearer %s: the fake saw the token of the wrong profile (alpha's: %v)", key, got == tokA)
				}
			}
		})
	}
	for _, m := range modes[1:] {
		t.Run(m.name+": the proxy user selects the profile", func(t *testing.T) {
			id := "user-" + m.name
			r := send(context.Background(), asProxyUser(t, m.client(p), "beta-user"), "GET", m.url(p, "/v1/users/me"), nil, callHeader(id))
			if r.err != nil || r.code != 200 {
				t.Fatalf("got %v", r)
			}
			if got := lastSeenToken(fake, id); got != tokB {
				t.Errorf("proxy user beta-user: the fake saw %s's token, want beta's", map[bool]string{true: "alpha", false: "no profile"}[got == tokA])
			}
		})
	}

	fake.Revoke(tokA)
	var alpha []<-chan reply
	var alphaIDs []string
	t.Run("alpha's calls wait once alpha's token is revoked", func(t *testing.T) {
		for i, m := range modes {
			id := fmt.Sprintf("alpha-%d", i)
			alphaIDs = append(alphaIDs, id)
			alpha = append(alpha, sendAsync(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages"), pageBody(id), bearer("alpha-key", id)))
			p.waitProfile(t, "alpha", "paused", pausedWith(i+1))
		}
		// A call that no match selects belongs to the first profile.
		id := "unmatched"
		alphaIDs = append(alphaIDs, id)
		alpha = append(alpha, sendAsync(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody(id), callHeader(id)))
		p.waitProfile(t, "alpha", "paused", pausedWith(len(modes)+1))
	})
	t.Run("beta's calls keep answering with beta's token meanwhile", func(t *testing.T) {
		for i, m := range modes {
			id := fmt.Sprintf("beta-%d", i)
			r := send(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages"), pageBody(id), bearer("beta-key", id))
			if r.err != nil || r.code != 200 {
				t.Errorf("%s: %v", m.name, r)
			}
			if sends := withID(fake, id); len(sends) != 1 || sends[0].Token != tokB {
				t.Errorf("%s: the fake saw %d sends, want one with beta's token", m.name, len(sends))
			}
		}
		if ps := p.profile(t, "beta"); !isOK(ps) {
			t.Errorf("beta: %+v", ps)
		}
		stillWaiting(t, "alpha", alpha...)
	})
	t.Run("a new alpha token releases alpha's calls", func(t *testing.T) {
		fake.AddToken(tokC)
		writeAtomic(t, p.cfgPath, []byte(twoProfiles(fake, fakeCA, tokC, tokB)))
		for i, ch := range alpha {
			if r := await(t, alphaIDs[i], ch, 10*time.Second); r.err != nil || r.code != 200 {
				t.Errorf("%s: %v", alphaIDs[i], r)
			}
			if got := lastSeenToken(fake, alphaIDs[i]); got != tokC {
				t.Errorf("%s was not replayed with alpha's new token", alphaIDs[i])
			}
			if n := fake.Applied()[alphaIDs[i]]; n != 1 {
				t.Errorf("%s applied %d times", alphaIDs[i], n)
			}
		}
		p.waitProfile(t, "alpha", "ok", isOK)
		if ps := p.profile(t, "beta"); !isOK(ps) {
			t.Errorf("beta: %+v", ps)
		}
	})
	p.stop()
	if lines := p.logsWith(pauseLine); len(lines) != 1 || lines[0]["profile"] != "alpha" {
		t.Errorf("want one pause line, for alpha: %v", lines)
	}
	secretsIn(t, p, tokA, tokB, tokC)
}

// TestRemovingAProfileAnswersItsWaitingCalls: a reload that removes a
// paused profile answers its waiting calls with their 401 at once, rather
// than sending them with another profile's token or leaving them until
// pause.timeout; the name added back later starts afresh.
func TestRemovingAProfileAnswersItsWaitingCalls(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB, tokC)
	p := startProxy(t, twoProfiles(fake, fakeCA, tokA, tokB))
	fake.Revoke(tokB)
	beta := func(id string) map[string]string {
		h := callHeader(id)
		h["Authorization"] = "Bearer beta-key"
		return h
	}
	// The first call is rejected and waits inside the proxy; the second
	// arrives paused and waits parked.
	var waiting []<-chan reply
	for i, id := range []string{"beta-rejected", "beta-parked"} {
		waiting = append(waiting, sendAsync(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody(id), beta(id)))
		p.waitProfile(t, "beta", "the calls waiting", pausedWith(i+1))
	}

	alphaOnly := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) +
		"profiles:\n  - name: alpha\n    token: " + tokA + "\n    match: [alpha-key]\n"
	writeAtomic(t, p.cfgPath, []byte(alphaOnly))
	for i, id := range []string{"beta-rejected", "beta-parked"} {
		checkOriginal401(t, id, await(t, id, waiting[i], 5*time.Second))
	}
	p.waitLog("profile removed from the config", 5*time.Second)
	if n := len(withID(fake, "beta-parked")); n != 0 {
		t.Errorf("the fake saw the parked call of the removed profile %d times", n)
	}
	if st := p.status(t); len(st.Profiles) != 1 || st.Profiles[0].Name != "alpha" {
		t.Errorf("/-/status after the removal: %+v", st.Profiles)
	}

	writeAtomic(t, p.cfgPath, []byte(twoProfiles(fake, fakeCA, tokA, tokC)))
	testwait.Until(t, 5*time.Second, "the profile to be back", func() bool { return len(p.status(t).Profiles) == 2 })
	p.waitProfile(t, "beta", "back, open", isOK)
	if r := send(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody("beta-back"), beta("beta-back")); r.err != nil || r.code != 200 {
		t.Fatalf("a call of the profile added back: %v", r)
	}
	if got := lastSeenToken(fake, "beta-back"); got != tokC {
		t.Errorf("the profile added back did not use its new token")
	}
	p.stop()
	secretsIn(t, p, tokA, tokB, tokC)
}

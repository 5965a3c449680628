package integration_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// No token leaves for a host other than the upstream (docs/design.md#tokens), including
// when the upstream answers with a redirect: the proxy passes a redirect to
// the program unchanged and never follows it itself. (A CONNECT to another
// host carrying no token is TestOtherHostsAreTunnelledUntouched.)

// elsewhere is a loopback server that records the Authorization header of
// every request it gets.
type elsewhere struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func startElsewhere(t *testing.T) *elsewhere {
	t.Helper()
	e := &elsewhere{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.auth = append(e.auth, r.Header.Get("Authorization"))
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","results":[]}`))
	}))
	t.Cleanup(e.Close)
	return e
}

// seen returns the Authorization headers received so far.
func (e *elsewhere) seen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.auth...)
}

func TestRedirectsArePassedOnAndNeverFollowed(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	other := startElsewhere(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, m := range modes {
		t.Run(m.name+": a 307 reaches the program unchanged", func(t *testing.T) {
			fake.Reset()
			location := other.URL + "/v1/pages?from=redirect"
			fake.RedirectNext(1, http.StatusTemporaryRedirect, location)
			before := len(other.seen())
			c := m.client(p)
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			r := send(ctx, c, "POST", m.url(p, "/v1/pages"), pageBody("redirected"),
				map[string]string{"Authorization": "Bearer placeholder", "Content-Type": "application/json", "X-Test-Call-Id": "r307"})
			if r.err != nil || r.code != http.StatusTemporaryRedirect || r.header.Get("Location") != location {
				t.Fatalf("got %v, Location %q; want 307 to %s", r, r.header.Get("Location"), location)
			}
			got := withID(fake, "r307")
			if len(got) != 1 || got[0].Outcome != fakenotion.OutcomeRedirected || got[0].Token != tokA {
				t.Errorf("the fake saw %d sends of the call, want one with the token, redirected", len(got))
			}
			if len(fake.Applied()) != 0 {
				t.Errorf("a redirected write was applied: %v", fake.Applied())
			}
			if n := len(other.seen()) - before; n != 0 {
				t.Errorf("the proxy followed the redirect: the other host saw %d requests", n)
			}
		})
		t.Run(m.name+": a program that follows a 302 takes only its own credentials along", func(t *testing.T) {
			fake.Reset()
			fake.RedirectNext(1, http.StatusFound, other.URL+"/v1/users/me")
			before := len(other.seen())
			r := send(ctx, m.client(p), "GET", m.url(p, "/v1/users/me"), nil,
				map[string]string{"Authorization": "Bearer placeholder"})
			if r.err != nil || r.code != 200 {
				t.Fatalf("following the redirect: %v", r)
			}
			s := other.seen()
			if len(s) != before+1 {
				t.Fatalf("the other host saw %d requests, want the program's one", len(s)-before)
			}
			for _, auth := range s {
				if auth == "Bearer "+tokA {
					t.Error("the other host got the profile's token")
				}
			}
		})
	}
	p.stop()
	secretsIn(t, p, tokA)
}

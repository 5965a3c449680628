package integration_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Tests of the rate-limit scheduler (docs/design.md#the-rate-limit-scheduler): a 429 holds the whole profile (and its workspace),
// and calls released at once go out through the scheduler, not as a herd.
// Results are read from the fake's record; no wall-clock ratio is
// asserted (the benchmark measures those).

// rateStatus is the rate-limit part of /-/status.
type rateStatus struct {
	Profiles []struct {
		Name             string     `json:"name"`
		State            string     `json:"state"`
		Waiting          int        `json:"waiting"`
		RateLimitedUntil *time.Time `json:"rate_limited_until"`
		RateLimitReason  string     `json:"rate_limit_reason"`
		Pace             *float64   `json:"pace"`
	} `json:"profiles"`
}

func (p *proc) rateStatus(t *testing.T) rateStatus {
	t.Helper()
	code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/-/status", nil, nil)
	if code != 200 {
		t.Fatalf("/-/status: %d %s", code, body)
	}
	var st rateStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("/-/status: %v: %s", err, body)
	}
	return st
}

// heldUntil returns the end of profile name's hold, or nil.
func (st rateStatus) heldUntil(name string) *time.Time {
	for _, p := range st.Profiles {
		if p.Name == name {
			return p.RateLimitedUntil
		}
	}
	return nil
}

func TestRateLimitHoldsEveryProfileOfTheWorkspace(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB, tokC)
	p := startProxy(t, "listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+"retry: {max_wait: 30s}\n"+fmt.Sprintf(`profiles:
  - name: alpha
    token: %s
    match: [alpha-key]
    workspace: acme
  - name: beta
    token: %s
    match: [beta-key]
    workspace: acme
  - name: gamma
    token: %s
    match: [gamma-key]
    workspace: other
`, tokA, tokB, tokC))
	as := func(key, id string) map[string]string {
		h := callHeader(id)
		h["Authorization"] = "Bearer " + key
		return h
	}
	// One call per 2 s window for the whole workspace: alpha's first call
	// spends it, its second gets Notion's workspace 429.
	fake.SetLimit(fakenotion.Limit{Budget: 1, Window: 2 * time.Second, Reason: "workspace_rate_limit"})
	if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, as("alpha-key", "alpha-1")); code != 200 {
		t.Fatalf("first call: %d %s", code, body)
	}
	var wg sync.WaitGroup
	get := func(key, id string) {
		wg.Go(func() {
			if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, as(key, id)); code != 200 {
				t.Errorf("%s: %d %s", id, code, body)
			}
		})
	}
	get("alpha-key", "alpha-2")
	var st rateStatus
	testwait.Until(t, 10*time.Second, "alpha held by the workspace 429", func() bool {
		st = p.rateStatus(t)
		return st.heldUntil("alpha") != nil
	})
	t.Run("the workspace's other profile is held too, another workspace is not", func(t *testing.T) {
		if st.heldUntil("beta") == nil {
			t.Errorf("beta (workspace acme) not held: %+v", st)
		}
		if st.heldUntil("gamma") != nil {
			t.Errorf("gamma (workspace other) held: %+v", st)
		}
	})
	until := st.heldUntil("alpha") // the workspace's hold
	get("beta-key", "beta-1")
	wg.Wait()
	t.Run("nothing of a held profile reaches Notion before the hold ends", func(t *testing.T) {
		sends := withID(fake, "beta-1")
		if len(sends) == 0 {
			t.Fatal("beta-1 never reached the fake")
		}
		if sends[0].Time.Before(until.Add(-5 * time.Millisecond)) {
			t.Errorf("beta-1 reached the fake at %v, before its workspace hold ended at %v", sends[0].Time, *until)
		}
	})
	t.Run("the 429s are counted by reason", func(t *testing.T) {
		_, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/metrics", nil, nil)
		want := `notion_proxy_rate_limited_total{profile="alpha",reason="workspace_rate_limit",status="429"}`
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	})
}

func TestResumeAgainstALimitDoesNotHerd(t *testing.T) {
	const calls = 60
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, tokenConfig(fake, fakeCA, "retry: {max_wait: 60s}\n", tokA))
	// Calls flowed freely before the pause: the profile's scheduler is
	// wide open when the token is revoked.
	for range 10 {
		getConcurrently(t, p, 40)
	}
	if code, body, _ := do(t, p.baseClient(), "POST", p.baseURL()+"/-/revoke", nil, nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, callHeader(fmt.Sprintf("resume-%d", i))); code != 200 {
				t.Errorf("call %d: %d %s", i, code, body)
			}
		})
	}
	p.waitProfile(t, "default", fmt.Sprintf("paused with %d calls waiting", calls), pausedWith(calls))
	// Notion allows 5 at once, then 20 per second.
	fake.SetLimit(fakenotion.Limit{Rate: 20, Burst: 5, PerToken: true})
	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "retry: {max_wait: 60s}\n", tokB)))
	wg.Wait()
	limited := fake.RateLimited()
	t.Logf("%d calls resumed; the fake answered %d of %d sends 429", calls, limited, len(withToken(fake, tokB)))
	// Released at once, the calls would get about calls-5 429s.
	if limited > calls/10 {
		t.Errorf("the fake answered %d sends 429: the released calls came as a herd (at most %d allowed)", limited, calls/10)
	}
}

package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Tests of the ways of giving up (docs/design.md#the-gate-pause-and-replay): a waiting call whose program goes
// away, a call that waits longer than pause.timeout, and calls beyond
// pause.max_queued.

// notionError is Notion's error object.
type notionError struct {
	Object    string `json:"object"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// checkOriginal401 checks that r is Notion's own invalid-token answer:
// status, Notion's request id header, and the body of that same answer.
func checkOriginal401(t *testing.T, what string, r reply) {
	t.Helper()
	if r.err != nil || r.code != 401 {
		t.Errorf("%s: got %v, want Notion's 401", what, r)
		return
	}
	var e notionError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Errorf("%s: body is not JSON: %v: %s", what, err, r.body)
		return
	}
	if e.Object != "error" || e.Status != 401 || e.Code != "unauthorized" || e.Message != "API token is invalid." {
		t.Errorf("%s: body %s is not Notion's invalid-token answer", what, r.body)
	}
	id := r.header.Get("X-Notion-Request-Id")
	if id == "" {
		t.Errorf("%s: Notion's x-notion-request-id header is missing", what)
	} else if e.RequestID != id {
		t.Errorf("%s: header request id %s and body request id %s are not from the same answer", what, id, e.RequestID)
	}
}

func TestPauseTimeoutGivesNotionsOriginal401(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "pause: {timeout: 1s}\n", tokA))
	fake.Revoke(tokA)
	var chs []<-chan reply
	for i, m := range modes {
		id := fmt.Sprintf("timeout-%d", i)
		chs = append(chs, sendAsync(context.Background(), m.client(p), "PATCH", m.url(p, "/v1/pages/"+pageID), []byte(`{}`), callHeader(id)))
	}
	p.waitProfile(t, "default", "paused", func(ps profileState) bool { return ps.State == "paused" })
	for i, m := range modes {
		t.Run(m.name+": a call that waits past pause.timeout gets Notion's 401", func(t *testing.T) {
			r := await(t, m.name, chs[i], 10*time.Second)
			checkOriginal401(t, m.name, r)
			if r.took < time.Second || r.took > 5*time.Second {
				t.Errorf("answered after %v, want just over pause.timeout (1s)", r.took)
			}
		})
	}
	t.Run("the profile stays paused with nothing waiting", func(t *testing.T) {
		if ps := p.profile(t, "default"); !pausedWith(0)(ps) {
			t.Errorf("status %+v", ps)
		}
		if n := len(fake.Applied()); n != 0 {
			t.Errorf("%d writes applied with a revoked token", n)
		}
	})
	p.stop()
	secretsIn(t, p, tokA)
}

func TestPauseTimeoutCountsFromTheFirstWait(t *testing.T) {
	const timeout = 2 * time.Second
	fake, fakeCA := startFake(t, tokA)
	extra := fmt.Sprintf("pause: {timeout: %v}\n", timeout)
	p := startProxy(t, tokenConfig(fake, fakeCA, extra, tokA))
	fake.Revoke(tokA)
	start := time.Now()
	ch := waitingPage(t, p, "long-wait")
	// The subject here is the clock: well into the call's wait, a new token
	// that Notion rejects too is written, and the call waits on.
	<-time.After(time.Until(start.Add(timeout * 6 / 10)))
	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, extra, tokB)))
	p.waitLog(againLine, 5*time.Second)
	t.Run("a call that waits across a rejected new token still gets its 401 after pause.timeout", func(t *testing.T) {
		r := await(t, "long-wait", ch, 10*time.Second)
		checkOriginal401(t, "long-wait", r)
		if took := time.Since(start); took > timeout+timeout/4 {
			t.Errorf("answered after %v, want about pause.timeout (%v) from the start of its wait", took.Round(10*time.Millisecond), timeout)
		}
		if sends := withID(fake, "long-wait"); len(sends) != 2 {
			t.Errorf("the fake saw %d sends, want 2 (the revoked token, then the rejected new one)", len(sends))
		}
	})
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

func TestDisconnectedWaitingCallIsNeverSent(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	tokens := []string{tokA, tokB, tokC, tokD}
	for i, m := range modes {
		old, next := tokens[i], tokens[i+1]
		t.Run(m.name+": a waiting call whose program gives up is dropped, not replayed", func(t *testing.T) {
			fake.Revoke(old)
			keepID, goneID := "kept-"+m.name, "gone-"+m.name
			kept := sendAsync(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody(keepID), callHeader(keepID))
			p.waitProfile(t, "default", "paused with the first call", pausedWith(1))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			gone := sendAsync(ctx, m.client(p), "POST", m.url(p, "/v1/pages"), pageBody(goneID), callHeader(goneID))
			p.waitProfile(t, "default", "the second call waiting", pausedWith(2))
			cancel()
			if r := await(t, goneID, gone, 5*time.Second); r.err == nil {
				t.Fatalf("the canceled call got an answer: %v", r)
			}
			p.waitProfile(t, "default", "the canceled call dropped from the queue", pausedWith(1))

			fake.AddToken(next)
			writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", next)))
			if r := await(t, keepID, kept, 10*time.Second); r.err != nil || r.code != 200 {
				t.Fatalf("the waiting call got %v", r)
			}
			p.waitProfile(t, "default", "ok", isOK)
			if n := len(withID(fake, goneID)); n != 0 {
				t.Errorf("the fake saw the canceled call %d times", n)
			}
			if n := fake.Applied()[keepID]; n != 1 {
				t.Errorf("the waiting call was applied %d times", n)
			}
		})
	}
	p.stop()
	secretsIn(t, p, tokens...)
}

func TestQueueLimitAnswersThe401AtOnce(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "pause: {max_queued: 2}\n", tokA))
	fake.Revoke(tokA)
	var waiting []<-chan reply
	for i := range 2 {
		id := fmt.Sprintf("queued-%d", i)
		waiting = append(waiting, sendAsync(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody(id), callHeader(id)))
		p.waitProfile(t, "default", "paused", pausedWith(i+1))
	}
	t.Run("a call beyond max_queued gets the 401 at once and is never sent", func(t *testing.T) {
		for i, m := range modes {
			id := fmt.Sprintf("over-%d", i)
			r := await(t, id, sendAsync(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages"), pageBody(id), callHeader(id)), 5*time.Second)
			checkOriginal401(t, m.name, r)
			if n := len(withID(fake, id)); n != 0 {
				t.Errorf("%s: the fake saw the refused call %d times", m.name, n)
			}
		}
		stillWaiting(t, "the queued calls", waiting...)
		if ps := p.profile(t, "default"); !pausedWith(2)(ps) {
			t.Errorf("status %+v, want paused with 2 waiting", ps)
		}
	})
	t.Run("the queued calls still complete after a new token", func(t *testing.T) {
		fake.AddToken(tokB)
		writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "pause: {max_queued: 2}\n", tokB)))
		for i, ch := range waiting {
			id := fmt.Sprintf("queued-%d", i)
			if r := await(t, id, ch, 10*time.Second); r.err != nil || r.code != 200 {
				t.Errorf("%s: %v", id, r)
			}
			if n := fake.Applied()[id]; n != 1 {
				t.Errorf("%s applied %d times", id, n)
			}
		}
	})
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

func TestStoppingAnswersWaitingCallsWithNotions401(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	fake.Revoke(tokA)
	var chs []<-chan reply
	for i, m := range modes {
		id := fmt.Sprintf("at-stop-%d", i)
		chs = append(chs, sendAsync(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages"), pageBody(id), callHeader(id)))
		p.waitProfile(t, "default", "the call waiting", pausedWith(i+1))
	}
	p.stop() // fails the test unless the proxy exits 0 in time
	for i, m := range modes {
		t.Run(m.name+": a call waiting when the proxy stops gets Notion's 401", func(t *testing.T) {
			checkOriginal401(t, m.name, await(t, m.name, chs[i], 5*time.Second))
		})
	}
	secretsIn(t, p, tokA)
}

func TestAProbeWhoseProgramGivesUpPassesTheProbeOn(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	if r := admin(t, p, "/-/revoke?profile=default", ""); r.code != 200 {
		t.Fatalf("revoke: %v", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := sendAsync(ctx, p.httpsProxyClient(), "POST", "https://api.notion.com/v1/pages", pageBody("probe-gone"), callHeader("probe-gone"))
	p.waitProfile(t, "default", "the oldest call waiting", pausedWith(1))
	kept := sendAsync(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody("probe-next"), callHeader("probe-next"))
	p.waitProfile(t, "default", "the second call waiting", pausedWith(2))

	fake.SetDelay(300 * time.Millisecond)
	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokB)))
	testwait.Until(t, 5*time.Second, "the oldest call to be sent as the probe", func() bool { return len(withID(fake, "probe-gone")) == 1 })
	stillWaiting(t, "while the probe is out", kept)
	cancel()
	t.Run("the next waiting call becomes the probe and completes", func(t *testing.T) {
		if r := await(t, "probe-gone", gone, 5*time.Second); r.err == nil {
			t.Errorf("the canceled probe got an answer: %v", r)
		}
		if r := await(t, "probe-next", kept, 10*time.Second); r.err != nil || r.code != 200 {
			t.Fatalf("the next call got %v", r)
		}
		p.waitProfile(t, "default", "ok", isOK)
		applied := fake.Applied()
		if applied["probe-gone"] != 0 || applied["probe-next"] != 1 {
			t.Errorf("applied: %v", applied)
		}
	})
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

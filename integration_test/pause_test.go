package integration_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Tests of pause and replay (docs/design.md#the-gate-pause-and-replay): a revoked token pauses its profile's calls, and a new
// token written to the config replays them.

// loadCall is one call of the load test and what it got.
type loadCall struct {
	id, method, mode string
	reply            reply
}

func TestRevocationUnderLoad(t *testing.T) {
	const callers = 30
	fake, fakeCA := startFake(t, tokA)
	fake.SetDelay(20 * time.Millisecond) // calls are in flight when the token is revoked
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))

	var (
		mu       sync.Mutex
		calls    []loadCall
		finished atomic.Int64
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	for i := range callers {
		m := modes[i%len(modes)]
		client := m.client(p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("load-%02d-%04d", i, k)
				var method, path string
				var body []byte
				switch (i + k) % 3 {
				case 0:
					method, path = "GET", "/v1/users/me"
				case 1:
					method, path, body = "POST", "/v1/pages", pageBody(id)
				case 2:
					method, path, body = "PATCH", "/v1/pages/"+pageID, []byte(`{"properties":{"title":{"title":[{"text":{"content":"`+id+`"}}]}}}`)
				}
				r := send(context.Background(), client, method, m.url(p, path), body, callHeader(id))
				mu.Lock()
				calls = append(calls, loadCall{id: id, method: method, mode: m.name, reply: r})
				mu.Unlock()
				finished.Add(1)
			}
		}()
	}
	stopped := false
	stopCallers := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopCallers()

	testwait.Until(t, 20*time.Second, "calls flowing through every caller", func() bool { return finished.Load() >= 3*callers })
	fake.Revoke(tokA)
	fpA := p.waitProfile(t, "default", "paused with every caller waiting", pausedWith(callers)).Token

	// Every caller's call now waits in the proxy: none is at the fake.
	rejected := 0
	perCall := map[string]int{}
	sentWithA := withToken(fake, tokA)
	for _, r := range sentWithA {
		if r.Status == 0 {
			t.Errorf("a call with the revoked token is still at the fake while every caller waits: %s", r.Header.Get("X-Test-Call-Id"))
		}
		if r.Outcome == fakenotion.OutcomeInvalidToken {
			rejected++
			perCall[r.Header.Get("X-Test-Call-Id")]++
		}
	}
	t.Logf("%d calls finished before the pause; %d reached the fake with the revoked token", finished.Load(), rejected)
	t.Run("at most the calls in flight reach Notion with the revoked token, each once", func(t *testing.T) {
		if rejected == 0 || rejected > callers {
			t.Errorf("%d calls were rejected by the fake, want 1..%d (one per caller at most)", rejected, callers)
		}
		for id, n := range perCall {
			if n > 1 {
				t.Errorf("call %s was sent %d times with the revoked token", id, n)
			}
		}
	})

	fake.AddToken(tokB)
	wrote := time.Now()
	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokB)))
	resumed := p.waitProfile(t, "default", "resumed", isOK)
	if resumed.Token == fpA {
		t.Errorf("status still shows the rejected token %s", fpA)
	}
	if b := withToken(fake, tokB); len(b) > 0 {
		t.Logf("the first replay reached the fake %v after the token was written", b[0].Time.Sub(wrote))
		if d := b[0].Time.Sub(wrote); d > time.Second {
			t.Errorf("the first replay left %v after the token was written, want well under a second", d)
		}
	}
	before := finished.Load()
	testwait.Until(t, 20*time.Second, "calls flowing again", func() bool { return finished.Load() >= before+3*callers })
	stopCallers()

	t.Run("every call ends 200", func(t *testing.T) {
		bad := 0
		for _, c := range calls {
			if c.reply.err != nil || c.reply.code != 200 {
				if bad++; bad <= 5 {
					t.Errorf("%s %s via %s: %v", c.method, c.id, c.mode, c.reply)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d calls did not end 200", bad, len(calls))
		}
	})
	t.Run("every call is served by Notion exactly once and every write applied exactly once", func(t *testing.T) {
		served := map[string]int{}
		for _, r := range fake.Requests() {
			if r.Outcome == fakenotion.OutcomeOK {
				served[r.Header.Get("X-Test-Call-Id")]++
			}
		}
		applied := fake.Applied()
		for _, c := range calls {
			if served[c.id] != 1 {
				t.Errorf("%s %s via %s was served %d times", c.method, c.id, c.mode, served[c.id])
			}
			if c.method != "GET" && applied[c.id] != 1 {
				t.Errorf("%s %s via %s was applied %d times", c.method, c.id, c.mode, applied[c.id])
			}
		}
		for id, n := range applied {
			if n != 1 {
				t.Errorf("write %s applied %d times", id, n)
			}
		}
	})
	t.Run("no call is sent with the revoked token after the new one is in", func(t *testing.T) {
		if n := len(withToken(fake, tokA)); n != len(sentWithA) {
			t.Errorf("the fake saw %d more calls with the revoked token after every caller was waiting", n-len(sentWithA))
		}
	})
	p.stop()
	t.Run("every call is logged once, the waiting ones as having waited for a token", func(t *testing.T) {
		lines, waited := callLines(p), 0
		for _, l := range lines {
			if l["waited_for_token"] == true {
				waited++
			}
		}
		if len(lines) != len(calls) {
			t.Errorf("%d call log lines for %d calls", len(lines), len(calls))
		}
		if waited != callers {
			t.Errorf("%d call lines say they waited for a token, want %d (one waiting call per caller)", waited, callers)
		}
	})
	t.Run("the pause is logged once with what to do, the resume with the replayed count", func(t *testing.T) {
		pauses := p.logsWith(pauseLine)
		if len(pauses) != 1 {
			t.Fatalf("%d pause lines, want 1", len(pauses))
		}
		checkPauseLine(t, p, pauses[0], fpA)
		resumes := p.logsWith(resumeLine)
		if len(resumes) != 1 {
			t.Fatalf("%d resume lines, want 1", len(resumes))
		}
		if n, _ := resumes[0]["replayed"].(float64); int(n) != callers {
			t.Errorf("resume line says %v calls replayed, want %d: %v", resumes[0]["replayed"], callers, resumes[0])
		}
		if _, ok := resumes[0]["paused_for_ms"]; !ok {
			t.Errorf("resume line does not say how long the pause lasted: %v", resumes[0])
		}
	})
	secretsIn(t, p, tokA, tokB)
}

func TestSwapWhileInFlight(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	tokens := []string{tokA, tokB, tokC, tokD}
	for i, m := range modes {
		old, next := tokens[i], tokens[i+1]
		t.Run(m.name+": a 401 for a swapped-out token is replayed at once, without a pause", func(t *testing.T) {
			fake.Reset()
			fake.AddToken(next)
			fake.SetDelay(800 * time.Millisecond)
			id := "swap-" + m.name
			ch := sendAsync(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages?q=1&q=2"), pageBody(id), callHeader(id))
			testwait.Until(t, 5*time.Second, "the call to reach the fake", func() bool { return len(withID(fake, id)) == 1 })
			before := p.profile(t, "default").Token
			fake.Revoke(old)
			writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", next)))
			p.waitProfile(t, "default", "the new token", func(ps profileState) bool { return ps.Token != before })
			if r := withID(fake, id); r[0].Status != 0 {
				t.Fatalf("the reload took longer than the call: the test needs a longer delay")
			}
			fake.SetDelay(0)
			r := await(t, id, ch, 10*time.Second)
			if r.err != nil || r.code != 200 {
				t.Fatalf("got %v", r)
			}
			reqs := withID(fake, id)
			if len(reqs) != 2 || reqs[0].Token != old || reqs[0].Status != 401 || reqs[1].Token != next || reqs[1].Status != 200 {
				t.Errorf("fake saw %d sends, want one with the old token (401) then one with the new (200)", len(reqs))
				for _, r := range reqs {
					t.Logf("  old=%v new=%v status %d", r.Token == old, r.Token == next, r.Status)
				}
			}
			if len(reqs) == 2 {
				checkSameCall(t, reqs[0], reqs[1])
			}
			if n := fake.Applied()[id]; n != 1 {
				t.Errorf("applied %d times", n)
			}
			if n := p.countLogs(pauseLine); n != 0 {
				t.Errorf("%d pause lines, want none", n)
			}
			if ps := p.profile(t, "default"); !isOK(ps) {
				t.Errorf("status %+v, want ok", ps)
			}
		})
	}
	p.stop()
	secretsIn(t, p, tokens...)
}

func TestNewTokenAlsoRejected(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	fake.Revoke(tokA)

	var chs []<-chan reply
	var ids []string
	for i, m := range modes {
		id := fmt.Sprintf("again-%d", i)
		ids = append(ids, id)
		chs = append(chs, sendAsync(context.Background(), m.client(p), "POST", m.url(p, "/v1/pages"), pageBody(id), callHeader(id)))
		// One at a time, so that only the first reaches Notion.
		p.waitProfile(t, "default", "paused", pausedWith(i+1))
	}
	fpA := p.profile(t, "default").Token

	t.Run("a new token that Notion rejects too keeps the profile paused on it", func(t *testing.T) {
		writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokB))) // the fake does not know tokB
		p.waitLog(againLine, 10*time.Second)
		ps := p.waitProfile(t, "default", "paused on the new token", func(ps profileState) bool {
			return ps.State == "paused" && ps.Token != fpA && ps.Waiting == len(modes)
		})
		checkPauseLine(t, p, p.logsWith(againLine)[0], ps.Token)
		stillWaiting(t, "after the rejected token", chs...)
		if sends := withToken(fake, tokB); len(sends) != 1 || sends[0].Header.Get("X-Test-Call-Id") != ids[0] {
			t.Errorf("the fake saw the rejected new token %d times, want once, from the oldest waiting call", len(sends))
		}
		if n := len(withToken(fake, tokA)); n != 1 {
			t.Errorf("the fake saw the revoked token %d times, want once", n)
		}
	})
	t.Run("a third token that Notion accepts releases every call", func(t *testing.T) {
		fake.AddToken(tokC)
		writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokC)))
		for i, ch := range chs {
			if r := await(t, ids[i], ch, 10*time.Second); r.err != nil || r.code != 200 {
				t.Errorf("%s via %s: %v", ids[i], modes[i].name, r)
			}
		}
		if sends := withToken(fake, tokC); len(sends) == 0 || sends[0].Header.Get("X-Test-Call-Id") != ids[0] {
			t.Errorf("the oldest waiting call was not replayed first")
		}
		applied := fake.Applied()
		for _, id := range ids {
			if applied[id] != 1 {
				t.Errorf("%s applied %d times", id, applied[id])
			}
		}
		if n := len(withToken(fake, tokB)); n != 1 {
			t.Errorf("the fake saw the rejected token %d times, want once", n)
		}
		p.waitProfile(t, "default", "ok", isOK)
	})
	p.stop()
	if n := p.countLogs(pauseLine); n != 2 {
		t.Errorf("%d pause lines, want 2 (the revoked token, then the rejected new one)", n)
	}
	if n := p.countLogs(resumeLine); n != 1 {
		t.Errorf("%d resume lines, want 1", n)
	}
	secretsIn(t, p, tokA, tokB, tokC)
}

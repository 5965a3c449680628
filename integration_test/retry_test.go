package integration_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// sentTo returns the fake's records of the call with X-Test-Call-Id id.
func sentTo(fake *fakenotion.Server, id string) []fakenotion.Request {
	var out []fakenotion.Request
	for _, r := range fake.Requests() {
		if r.Header.Get("X-Test-Call-Id") == id {
			out = append(out, r)
		}
	}
	return out
}

func TestRetries(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\nretry: {max_wait: 3s}\n")
	page := []byte(`{"parent":{"page_id":"59833787-2cf9-4fdf-8782-e53db20768a5"},"properties":{}}`)
	cases := []struct {
		name          string
		inject        func()
		method, path  string
		wantStatus    int
		wantSent      int
		wantApplied   int
		wantRetryHead string // Retry-After the program must see, if any
	}{
		{"a 429 with Retry-After is waited out and sent again, for a write too",
			func() { fake.FailNext(1, 429, "1") }, "POST", "/v1/pages", 200, 2, 1, ""},
		{"a 529 without Retry-After is retried with back-off",
			func() { fake.FailNext(2, 529, "") }, "PATCH", "/v1/pages/59833787-2cf9-4fdf-8782-e53db20768a5", 200, 3, 1, ""},
		{"a 429 past max_wait reaches the program unchanged",
			func() { fake.FailNext(3, 429, "2") }, "POST", "/v1/pages", 429, 2, 0, "2"},
		{"a 503 on a GET is retried",
			func() { fake.FailNext(2, 503, "") }, "GET", "/v1/users/me", 200, 3, 0, ""},
		{"a 502 on search (a read-only POST) is retried",
			func() { fake.FailNext(1, 502, "") }, "POST", "/v1/search", 200, 2, 0, ""},
		{"a 504 on a data source query is retried",
			func() { fake.FailNext(1, 504, "") }, "POST", "/v1/data_sources/0d3e1f2a-1111-2222-3333-444455556666/query", 200, 2, 0, ""},
		{"a 500 on a page create is never retried",
			func() { fake.FailNext(1, 500, "") }, "POST", "/v1/pages", 500, 1, 0, ""},
		{"a dropped connection on search is retried",
			func() { fake.DropNext(1) }, "POST", "/v1/search", 200, 2, 0, ""},
		{"a dropped connection on a page create is a 502, never resent",
			func() { fake.DropNext(1) }, "POST", "/v1/pages", 502, 1, 0, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake.Reset()
			c.inject()
			id := fmt.Sprintf("retry-%d", i)
			var body []byte
			if c.method != "GET" {
				body = page
			}
			code, resp, hdr := do(t, p.baseClient(), c.method, p.baseURL()+c.path, body,
				map[string]string{"X-Test-Call-Id": id, "Content-Type": "application/json"})
			if code != c.wantStatus {
				t.Fatalf("status %d, want %d: %s", code, c.wantStatus, resp)
			}
			if n := len(sentTo(fake, id)); n != c.wantSent {
				t.Errorf("fake saw %d sends, want %d", n, c.wantSent)
			}
			if n := fake.Applied()[id]; n != c.wantApplied {
				t.Errorf("applied %d times, want %d", n, c.wantApplied)
			}
			if c.wantRetryHead != "" && hdr.Get("Retry-After") != c.wantRetryHead {
				t.Errorf("Retry-After %q reached the program, want %q", hdr.Get("Retry-After"), c.wantRetryHead)
			}
			sums := map[string]bool{}
			for _, r := range sentTo(fake, id) {
				sums[r.BodySHA256] = true
			}
			if len(sums) > 1 {
				t.Errorf("retries sent different bodies")
			}
		})
	}
	lines := p.logsWith("call")
	found := false
	for _, l := range lines {
		if r, ok := l["retries"].(map[string]any); ok && r["rate_limited"] != nil && l["attempts"].(float64) >= 2 {
			found = true
		}
	}
	if !found {
		t.Error("no call log line shows its rate-limited retries and attempts")
	}
}

func TestRetriesCanBeTurnedOff(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\nretry: {rate_limited: false, transient: false}\n")
	fake.FailNext(1, 503, "")
	if code, _, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 503 {
		t.Errorf("503 with transient off: got %d", code)
	}
	fake.FailNext(1, 429, "1")
	if code, _, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 429 {
		t.Errorf("429 with rate_limited off: got %d", code)
	}
}

// TestPacingSmoothsABurst sends a burst of calls with rate_limit on and reads
// the spacing from the fake's own record.
func TestPacingSmoothsABurst(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\nrate_limit: {rps: 10, burst: 1}\n")
	const calls = 11
	getConcurrently(t, p, calls)
	reqs := fake.Requests()
	if len(reqs) != calls {
		t.Fatalf("fake saw %d calls", len(reqs))
	}
	// 11 calls at 10/s with burst 1 cannot span less than ~1 s. A slow
	// machine only makes the span longer, so this bound cannot flake.
	if span := reqs[len(reqs)-1].Time.Sub(reqs[0].Time); span < 900*time.Millisecond {
		t.Errorf("11 calls at 10 rps arrived within %v", span)
	}
	// Each line is written once its answer is sent: wait for all of them.
	testwait.Until(t, 5*time.Second, "a log line for every call", func() bool { return len(callLines(p)) == calls })
	paced := 0
	for _, l := range p.logsWith("call") {
		if l["waited_for_rate"] == true {
			paced++
		}
	}
	if paced < calls-2 {
		t.Errorf("only %d call lines say they waited for the rate limit", paced)
	}
}

// TestRetriesAndPausesCompose: one write is paced, rate-limited, paused for a
// token and replayed, and is still applied exactly once with the same body.
func TestRetriesAndPausesCompose(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\nrate_limit: {rps: 20, burst: 1}\n")
	body := []byte(`{"parent":{"page_id":"59833787-2cf9-4fdf-8782-e53db20768a5"},"properties":{"title":{"title":[{"text":{"content":"` +
		strings.Repeat("x", 5000) + `"}}]}}}`)
	sum := sha256.Sum256(body)
	fake.Revoke(tokA)
	fake.FailNext(1, 429, "1")
	done := make(chan int, 1)
	go func() {
		code, _, _ := do(t, p.baseClient(), "POST", p.baseURL()+"/v1/pages", body,
			map[string]string{"X-Test-Call-Id": "composed", "Content-Type": "application/json"})
		done <- code
	}()
	testwait.Until(t, 10*time.Second, "the call to wait for a token", func() bool {
		st := p.status(t)
		return st.Profiles[0].State == "paused" && st.Profiles[0].Waiting == 1
	})
	fake.AddToken(tokB)
	writeAtomic(t, p.cfgPath, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+"token: "+tokB+"\nrate_limit: {rps: 20, burst: 1}\n"))
	select {
	case code := <-done:
		if code != 200 {
			t.Fatalf("status %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the call never finished")
	}
	if n := fake.Applied()["composed"]; n != 1 {
		t.Errorf("applied %d times", n)
	}
	for _, r := range sentTo(fake, "composed") {
		if r.BodySHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("a send carried a different body")
		}
	}
	// The call's line is written once its answer is sent: wait for it.
	var line map[string]any
	testwait.Until(t, 5*time.Second, "the call's log line", func() bool {
		for _, l := range p.logsWith("call") {
			if l["path"] == "/v1/pages" {
				line = l
			}
		}
		return line != nil
	})
	b, _ := json.Marshal(line)
	if line["waited_for_token"] != true || line["attempts"].(float64) < 3 {
		t.Errorf("call line does not tell the story: %s", b)
	}
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

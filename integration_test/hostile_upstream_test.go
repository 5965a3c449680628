package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Hostile upstreams (issue 15): answers no real Notion should give, but a
// broken edge, a man in the middle or a bad day might. The proxy must stay
// bounded (no hammering), pass on what it cannot judge whole, and say in
// its log and metrics what the program actually got.

// hostileUpstreamMaxWait is retry.max_wait in these tests: rate-limit
// back-off waits 0.5-1 s, 1-2 s, 2-4 s, …, so within 3 s a call is sent
// three times, never more.
const hostileUpstreamMaxWait = "3s"

// bigJSON401 is a 401 body of about size bytes that is valid JSON and not
// Notion's invalid-token answer (a gateway in front of Notion, say).
func bigJSON401(size int) []byte {
	pad := strings.Repeat("a", size)
	return fmt.Appendf(nil, `{"object":"error","status":401,"code":"gateway_auth","message":"sign in at the gateway","pad":%q}`, pad)
}

func TestHostileUpstreams(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\nretry: {max_wait: "+hostileUpstreamMaxWait+"}\n")
	big := bigJSON401(2 << 20)
	forever := 1 << 30
	cases := []struct {
		name   string
		inject func()
		method string
		path   string
		// check judges the program's answer, the fake's record of the
		// call's sends, and the call's log line.
		check func(t *testing.T, r reply, sends []fakenotion.Request, line map[string]any)
	}{
		{
			name:   "429 with Retry-After 0 forever is resent a bounded number of times, then reaches the program",
			inject: func() { fake.FailNext(forever, 429, "0") },
			method: "GET", path: "/v1/users/me",
			check: func(t *testing.T, r reply, sends []fakenotion.Request, line map[string]any) {
				if r.err != nil || r.code != 429 || r.header.Get("Retry-After") != "0" {
					t.Errorf("the program got %v (Retry-After %q), want Notion's 429 with Retry-After 0", r, r.header.Get("Retry-After"))
				}
				if n := len(sends); n < 2 || n > 4 {
					t.Errorf("the fake saw %d sends, want 3 (back-off within max_wait %s)", n, hostileUpstreamMaxWait)
				}
				if line["status"] != 429.0 || line["attempts"] != float64(len(sends)) {
					t.Errorf("call line %v, want status 429 and %d attempts", line, len(sends))
				}
			},
		},
		{
			name:   "529 with a Retry-After date in the past forever is backed off too",
			inject: func() { fake.FailNext(forever, 529, "Thu, 01 Jan 1970 00:00:00 GMT") },
			method: "POST", path: "/v1/pages",
			check: func(t *testing.T, r reply, sends []fakenotion.Request, _ map[string]any) {
				if r.err != nil || r.code != 529 {
					t.Errorf("the program got %v, want Notion's 529", r)
				}
				if n := len(sends); n < 2 || n > 4 {
					t.Errorf("the fake saw %d sends, want 3 (back-off within max_wait %s)", n, hostileUpstreamMaxWait)
				}
			},
		},
		{
			name: "a 2 MiB 401 that is not an invalid-token answer reaches the program whole",
			inject: func() {
				fake.AnswerNext(1, fakenotion.Scripted{Status: 401, Body: big, RequestID: true,
					Header: http.Header{"Content-Type": {"application/json"}}})
			},
			method: "POST", path: "/v1/pages",
			check: func(t *testing.T, r reply, sends []fakenotion.Request, line map[string]any) {
				if r.err != nil || r.code != 401 {
					t.Fatalf("the program got %v, want the 401", r.err)
				}
				if !bytes.Equal(r.body, big) || !json.Valid(r.body) {
					t.Errorf("the program got %d bytes (valid JSON: %v), want the %d sent", len(r.body), json.Valid(r.body), len(big))
				}
				if cl := r.header.Get("Content-Length"); cl != fmt.Sprint(len(big)) {
					t.Errorf("Content-Length %q, want %d", cl, len(big))
				}
				if len(sends) != 1 || line["status"] != 401.0 || line["waited_for_token"] != false {
					t.Errorf("%d sends, call line %v; want one send, logged 401, no pause", len(sends), line)
				}
			},
		},
		{
			name: "a 2 MiB 429 forever still holds and is bounded, and the last one reaches the program whole",
			inject: func() {
				fake.AnswerNext(forever, fakenotion.Scripted{Status: 429, Body: big, RequestID: true,
					Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"0"}}})
			},
			method: "GET", path: "/v1/users/me",
			check: func(t *testing.T, r reply, sends []fakenotion.Request, _ map[string]any) {
				if r.err != nil || r.code != 429 || !bytes.Equal(r.body, big) {
					t.Errorf("the program got %v with %d bytes, want the 429 whole (%d bytes)", r.err, len(r.body), len(big))
				}
				if n := len(sends); n < 2 || n > 4 {
					t.Errorf("the fake saw %d sends, want 3 (back-off within max_wait %s)", n, hostileUpstreamMaxWait)
				}
			},
		},
		{
			// A POST, so that no client resends it on its own.
			name: "a 200 cut mid-body is logged and counted as what the program got",
			inject: func() {
				fake.AnswerNext(1, fakenotion.Scripted{Status: 200, Body: []byte(`{"object":"page","id":`), Length: 4096, RequestID: true,
					Header: http.Header{"Content-Type": {"application/json"}}})
			},
			method: "POST", path: "/v1/pages",
			check: func(t *testing.T, r reply, sends []fakenotion.Request, line map[string]any) {
				if r.err == nil {
					t.Errorf("the program got a whole answer: %v", r)
				}
				if line["status"] != 502.0 || line["upstream_status"] != 200.0 || line["outcome"] != "upstream body cut" || line["level"] != "warn" {
					t.Errorf("call line %v, want warn, status 502, upstream_status 200, outcome upstream body cut", line)
				}
				want := `notion_proxy_calls_total{class="write",profile="default",status="502"} 1`
				if m := metricsText(t, p); !strings.Contains(m, want) {
					t.Errorf("/metrics has no %s", want)
				}
			},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake.Reset()
			// A case's 429s hold the whole profile for a while after it
			// (the scheduler's hold): the next case starts after it.
			testwait.Until(t, 15*time.Second, "the previous case's rate-limit hold to end", func() bool {
				until := p.rateStatus(t).heldUntil("default")
				return until == nil || time.Now().After(*until)
			})
			// and after one accepted call, which ends the scheduler's run
			// of back-offs: each case starts from a profile in good standing.
			linesBefore := len(callLines(p))
			if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
				t.Fatalf("the call between cases got %d %s", code, body)
			}
			// A call's line is written after its answer: wait for it, so
			// that it is not taken for the line of the case's call.
			testwait.Until(t, 5*time.Second, "the log line of the call between cases", func() bool {
				return len(callLines(p)) > linesBefore
			})
			tc.inject()
			defer fake.Reset()
			id := fmt.Sprintf("hostile-upstream-%d", i)
			var body []byte
			if tc.method != "GET" {
				body = pageBody(id)
			}
			before := len(callLines(p))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r := send(ctx, p.baseClient(), tc.method, p.baseURL()+tc.path, body, callHeader(id))
			fake.FailNext(0, 0, "")
			var line map[string]any
			testwait.Until(t, 5*time.Second, "the call's log line", func() bool {
				lines := callLines(p)
				if len(lines) > before {
					line = lines[len(lines)-1]
				}
				return line != nil
			})
			tc.check(t, r, withID(fake, id), line)
		})
	}
	wellBehaved(t, p)
}

// metricsText fetches /metrics as text.
func metricsText(t *testing.T, p *proc) string {
	t.Helper()
	resp, err := http.Get(p.baseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestExpectContinueGetsOne100: a program that sends "Expect:
// 100-continue" gets one 100 Continue, the proxy's, before its final
// answer; Notion's would be a second one, and the proxy has the whole body
// before it sends anyway.
func TestExpectContinueGetsOne100(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	// Base-URL calls must name this machine in Host; inside a tunnel the
	// Host is Notion's.
	for name, way := range map[string]struct {
		open func() net.Conn
		host string
	}{
		"base URL":                     {func() net.Conn { return rawConn(t, p) }, "localhost"},
		"inside an intercepted tunnel": {func() net.Conn { return tunnel(t, p) }, "api.notion.com"},
	} {
		t.Run(name, func(t *testing.T) {
			id := "expect-" + strings.ReplaceAll(name, " ", "-")
			body := pageBody(id)
			s := newSession(t, way.open())
			s.write(fmt.Sprintf("POST /v1/pages HTTP/1.1\r\nHost: %s\r\nX-Test-Call-Id: %s\r\n"+
				"Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", way.host, id, len(body)))
			_ = s.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			first, err := http.ReadResponse(s.br, nil)
			if err != nil || first.StatusCode != http.StatusContinue {
				t.Fatalf("before the body: %v %v, want 100 Continue", first, err)
			}
			s.write(string(body))
			continues := 1
			for {
				resp, err := http.ReadResponse(s.br, nil)
				if err != nil {
					t.Fatalf("read the answer: %v", err)
				}
				if resp.StatusCode == http.StatusContinue {
					continues++
					continue
				}
				data, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Errorf("final answer %d %s", resp.StatusCode, data)
				}
				break
			}
			if continues != 1 {
				t.Errorf("the program got %d 100 Continue answers, want 1", continues)
			}
			if n := fake.Applied()[id]; n != 1 {
				t.Errorf("applied %d times, want 1", n)
			}
			sent := withID(fake, id)
			if len(sent) != 1 {
				t.Fatalf("the fake saw %d sends, want 1", len(sent))
			}
			if e := sent[0].Header.Get("Expect"); e != "" {
				t.Errorf("the fake saw Expect %q, want none", e)
			}
		})
	}
}

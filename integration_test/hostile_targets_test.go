package integration_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// Hostile proxy requests: malformed CONNECT targets get 400 before anything
// is dialed, and requests that would make the proxy connect to itself get
// 403 "proxy_loop".

// acceptCounter listens on loopback and counts the connections it accepts
// (and closes at once): a target that must never be dialed.
func acceptCounter(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

func TestMalformedConnectTargetsGet400(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	bait, accepted := acceptCounter(t)
	_, baitPort, _ := net.SplitHostPort(bait)
	cases := []struct {
		name, request string
		// ours: answered by the proxy in Notion's error shape, not by Go's
		// request parser.
		ours bool
	}{
		{"an empty host (a dialer's local machine)", "CONNECT :" + baitPort + " HTTP/1.1\r\nHost: :" + baitPort + "\r\n\r\n", true},
		{"no port, even for the Notion host", "CONNECT api.notion.com HTTP/1.1\r\nHost: api.notion.com\r\n\r\n", true},
		{"no port for another host", "CONNECT 127.0.0.1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", true},
		{"a path instead of an authority", "CONNECT /v1/users/me HTTP/1.1\r\nHost: " + bait + "\r\n\r\n", true},
		{"a port out of range", "CONNECT example.com:99999 HTTP/1.1\r\nHost: example.com:99999\r\n\r\n", true},
		{"port 0", "CONNECT example.com:0 HTTP/1.1\r\nHost: example.com:0\r\n\r\n", true},
		{"a named port", "CONNECT example.com:https HTTP/1.1\r\nHost: example.com:https\r\n\r\n", false},
		{"an unclosed IPv6 bracket", "CONNECT [::1 HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"too many words on the request line", "CONNECT a b c HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"a garbage request line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n", false},
		{"an absolute URI with no host", "GET http://:" + baitPort + "/v1/users/me HTTP/1.1\r\nHost: x\r\n\r\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name+" gets 400", func(t *testing.T) {
			isConnect := strings.HasPrefix(tc.request, "CONNECT")
			a := exchange(rawConn(t, p), []byte(tc.request), isConnect || !tc.ours)
			// After a refused CONNECT, bytes the program sends on for the
			// tunnel are not a request: the connection must end.
			if a.err != nil || a.status != http.StatusBadRequest || (isConnect && !a.closed) {
				t.Fatalf("got %v, want 400 (and, for CONNECT, the connection closed)", a)
			}
			if tc.ours && a.notionCode() != "proxy_bad_request" {
				t.Errorf("got %s, want Notion's error shape with code proxy_bad_request", a.body)
			}
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("malformed targets made the proxy dial %s %d times", bait, n)
	}
	wellBehaved(t, p)
}

func TestRequestsToTheProxyItselfAreRefused(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	_, port, _ := net.SplitHostPort(p.addr)
	for _, target := range []string{p.addr, "localhost:" + port, "LocalHost:" + port, "[::ffff:127.0.0.1]:" + port, "0.0.0.0:" + port} {
		t.Run("CONNECT "+target+" gets 403", func(t *testing.T) {
			a := exchange(rawConn(t, p), fmt.Appendf(nil, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target), true)
			if a.err != nil || a.status != http.StatusForbidden || a.notionCode() != "proxy_loop" || !a.closed {
				t.Errorf("got %v, want 403 proxy_loop and the connection closed", a)
			}
		})
	}
	// Forwarded, these would reach the admin endpoints from 127.0.0.1
	// whoever sent them, and Notion calls through a detour.
	for _, req := range []struct{ method, host, path string }{
		{"POST", p.addr, "/-/revoke"},
		{"POST", "localhost:" + port, "/-/reload"},
		{"GET", p.addr, "/-/status"},
		{"GET", "127.0.0.1:" + port, "/v1/users/me"},
	} {
		url := "http://" + req.host + req.path
		t.Run(req.method+" "+url+" gets 403", func(t *testing.T) {
			a := exchange(rawConn(t, p), fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n",
				req.method, url, req.host), false)
			if a.err != nil || a.status != http.StatusForbidden || a.notionCode() != "proxy_loop" {
				t.Errorf("got %v, want 403 proxy_loop", a)
			}
		})
	}
	t.Run("a Go client using the proxy for the proxy's own URL gets 403", func(t *testing.T) {
		code, body, _ := do(t, p.httpProxyClient(), "GET", p.baseURL()+"/-/healthz", nil, nil)
		if code != http.StatusForbidden {
			t.Errorf("got %d %s", code, body)
		}
	})
	if ps := p.profile(t, "default"); !isOK(ps) {
		t.Errorf("the profile is %+v: a looped POST /-/revoke got through", ps)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("the fake saw %d calls that looped through the proxy", n)
	}
	if n := p.countLogs("own address refused"); n == 0 {
		t.Error("no log line says a loop was refused")
	}
	wellBehaved(t, p)
}

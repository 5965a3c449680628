package integration_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Request smuggling: a request whose framing is ambiguous must not let a
// second request ride in its body. Go's parser refuses most ambiguities;
// the one it accepts by RFC 9112 §6.3, Content-Length with
// Transfer-Encoding: chunked, is framed by the chunks alone and its
// connection is closed after the answer, so what follows the chunks is
// never read as a request. Upstream, the proxy sends the body bytes it
// read with framing of its own, so nothing can ride along there either.

func TestSmugglingAttemptsNeverReachNotionTwice(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	const (
		chunks = "2\r\n{}\r\n0\r\n\r\n"
		tail   = "GET /v1/users/me HTTP/1.1\r\nHost: localhost\r\nX-Test-Call-Id: smuggled\r\n\r\n"
	)
	whole := strconv.Itoa(len(chunks + tail))
	cases := []struct {
		name, headers, body string
		status              int
		// forwarded: the first request reaches Notion, framed by its chunks.
		forwarded bool
	}{
		{"Content-Length with Transfer-Encoding: chunked",
			"Content-Length: " + whole + "\r\nTransfer-Encoding: chunked\r\n", chunks + tail, 200, true},
		{"Transfer-Encoding: chunked before Content-Length",
			"Transfer-Encoding: chunked\r\nContent-Length: " + whole + "\r\n", chunks + tail, 200, true},
		{"Transfer-Encoding hidden in an obs-fold",
			"Content-Length: " + whole + "\r\nTransfer-Encoding:\r\n chunked\r\n", chunks + tail, 200, true},
		{"two different Content-Lengths",
			"Content-Length: 2\r\nContent-Length: " + whole + "\r\n", "{}" + tail, http.StatusBadRequest, false},
		{"a signed Content-Length", "Content-Length: +2\r\n", "{}" + tail, http.StatusBadRequest, false},
		{"a space before the colon of Transfer-Encoding",
			"Content-Length: 2\r\nTransfer-Encoding : chunked\r\n", "{}" + tail, http.StatusBadRequest, false},
		// Go answers 501 to every transfer coding but a lone "chunked"
		// (RFC 9112 §6.1); refused and closed all the same.
		{"Transfer-Encoding: chunked, identity",
			"Transfer-Encoding: chunked, identity\r\n", chunks + tail, http.StatusNotImplemented, false},
		{"Transfer-Encoding: chunked twice",
			"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunks + tail, http.StatusNotImplemented, false},
	}
	ways := []struct {
		name string
		open func() net.Conn
	}{
		{"on the listener", func() net.Conn { return rawConn(t, p) }},
		{"in a tunnel", func() net.Conn { return tunnel(t, p) }},
	}
	n := 0
	for _, tc := range cases {
		for _, way := range ways {
			n++
			id := fmt.Sprintf("framing-%d", n)
			t.Run(tc.name+" "+way.name, func(t *testing.T) {
				req := "POST /v1/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
					"X-Test-Call-Id: " + id + "\r\n" + tc.headers + "\r\n" + tc.body
				a := exchange(way.open(), []byte(req), true)
				if a.err != nil || a.status != tc.status || !a.closed {
					t.Fatalf("got %v, want %d and the connection closed after it", a, tc.status)
				}
				got := withID(fake, id)
				if !tc.forwarded {
					if len(got) != 0 {
						t.Errorf("the fake saw the refused request %d times", len(got))
					}
					return
				}
				if len(got) != 1 {
					t.Fatalf("the fake saw the request %d times, want once", len(got))
				}
				if got[0].BodyLen != 2 {
					t.Errorf("the fake got a %d-byte body, want the 2 chunked bytes", got[0].BodyLen)
				}
			})
		}
	}
	t.Run("an obs-folded header reaches Notion unfolded", func(t *testing.T) {
		a := exchange(rawConn(t, p), []byte("GET /v1/users/me HTTP/1.1\r\nHost: localhost\r\n"+
			"X-Test-Call-Id: folded\r\nX-Folded: first\r\n  second\r\n\r\n"), false)
		if a.err != nil || a.status != 200 {
			t.Fatalf("got %v", a)
		}
		got := withID(fake, "folded")
		if len(got) != 1 || strings.ContainsAny(got[0].Header.Get("X-Folded"), "\r\n") || got[0].Header.Get("X-Folded") != "first second" {
			t.Errorf("the fake saw %d calls, X-Folded %q", len(got), got[0].Header.Values("X-Folded"))
		}
	})
	t.Run("Content-Length with chunked forwarded to another host", func(t *testing.T) {
		var seen atomic.Int32
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
		}))
		defer other.Close()
		host := strings.TrimPrefix(other.URL, "http://")
		smuggled := "GET " + other.URL + "/smuggled HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
		req := "POST " + other.URL + "/x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: " +
			strconv.Itoa(len(chunks+smuggled)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + smuggled
		a := exchange(rawConn(t, p), []byte(req), true)
		if a.err != nil || a.status != 200 || !a.closed {
			t.Errorf("got %v, want 200 and the connection closed after it", a)
		}
		if n := seen.Load(); n != 1 {
			t.Errorf("the other host saw %d requests, want 1", n)
		}
	})
	if got := withID(fake, "smuggled"); len(got) != 0 {
		t.Errorf("a smuggled request reached the fake %d times", len(got))
	}
	wellBehaved(t, p)
}

package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile programs (issue 6): each gets a clear 4xx or has its connection
// closed after a bounded time, the proxy stays up, and a well-behaved call
// made meanwhile gets its 200. They talk raw HTTP/1.1, on plain TCP to the
// listener or inside an intercepted TLS tunnel, so that nothing in a client
// library tidies the hostile bytes up.

const (
	// headerTimeout and bodyIdleTimeout mirror the proxy's bounds
	// (proxy/limits.go); the tests wait for them, plus slack for -race.
	headerTimeout   = 10 * time.Second
	bodyIdleTimeout = 10 * time.Second
	timeoutSlack    = 8 * time.Second
)

// rawConn dials the proxy's listener on plain TCP. The whole exchange is
// bounded by a deadline; Cleanup closes the connection.
func rawConn(t *testing.T, p *proc) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(headerTimeout + bodyIdleTimeout + 2*timeoutSlack))
	t.Cleanup(func() { c.Close() })
	return c
}

// tunnel opens CONNECT api.notion.com:443 and a TLS session inside it that
// trusts the proxy's CA: a raw connection into the interception server.
func tunnel(t *testing.T, p *proc) *tls.Conn { return tunnelAs(t, p, "") }

// tunnelAs is tunnel with the CONNECT made as proxy user user ("": none).
func tunnelAs(t *testing.T, p *proc, user string) *tls.Conn {
	t.Helper()
	c := rawConn(t, p)
	auth := ""
	if user != "" {
		auth = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":pw")) + "\r\n"
	}
	if _, err := io.WriteString(c, "CONNECT api.notion.com:443 HTTP/1.1\r\nHost: api.notion.com:443\r\n"+auth+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT api.notion.com:443: %v %v", resp, err)
	}
	pem, err := os.ReadFile(p.caPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "api.notion.com"})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS inside the tunnel: %v", err)
	}
	return tc
}

// rawAnswer is what a raw exchange got back.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
	// closed: the proxy closed the connection after this answer instead of
	// keeping it for another request.
	closed bool
	err    error
}

func (a rawAnswer) String() string {
	if a.err != nil {
		return "error: " + a.err.Error()
	}
	return fmt.Sprintf("%d closed=%v %s", a.status, a.closed, bytes.TrimSpace(a.body))
}

// notionCode is the "code" of an answer in Notion's error shape, or "".
func (a rawAnswer) notionCode() string {
	var e struct{ Object, Code string }
	if json.Unmarshal(a.body, &e) != nil || e.Object != "error" {
		return ""
	}
	return e.Code
}

// exchange writes req on c while reading the answer, so that an answer the
// proxy gives before reading all of req (a 431, say) is seen even when the
// rest of the write then fails. It reads one answer; with last, it then
// waits (briefly) to see whether the proxy closes the connection, and a
// second answer or a connection kept open leave closed false.
func exchange(c net.Conn, req []byte, last bool) rawAnswer {
	go func() { _, _ = c.Write(req) }()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return rawAnswer{err: err}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawAnswer{err: err}
	}
	a := rawAnswer{status: resp.StatusCode, header: resp.Header, body: body}
	if !last {
		return a
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = br.ReadByte()
	a.closed = err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	return a
}

// wellBehaved makes an ordinary call in base-URL mode and one through the
// HTTPS proxy, each of which must get 200 promptly.
func wellBehaved(t *testing.T, p *proc) {
	t.Helper()
	for name, c := range map[string]struct {
		client *http.Client
		url    string
	}{
		"base URL":    {p.baseClient(), p.baseURL() + "/v1/users/me"},
		"HTTPS proxy": {p.httpsProxyClient(), "https://api.notion.com/v1/users/me"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r := send(ctx, c.client, "GET", c.url, nil, nil)
		cancel()
		if r.err != nil || r.code != 200 {
			t.Errorf("a well-behaved call (%s) got %v", name, r)
		}
	}
}

// paddedRequest is a GET whose headers total about size bytes.
func paddedRequest(id string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET /v1/users/me HTTP/1.1\r\nHost: localhost\r\nX-Test-Call-Id: %s\r\n", id)
	pad := strings.Repeat("a", 1000)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "X-Pad-%d: %s\r\n", i, pad)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func TestOversizedHeadersGet431(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	for name, open := range map[string]func() net.Conn{
		"base URL":                     func() net.Conn { return rawConn(t, p) },
		"inside an intercepted tunnel": func() net.Conn { return tunnel(t, p) },
	} {
		// 128 KiB is over the proxy's 64 KiB, under net/http's default.
		for _, size := range []int{128 << 10, 2 << 20} {
			t.Run(fmt.Sprintf("%s: %d KiB of headers get 431 and a closed connection", name, size>>10), func(t *testing.T) {
				a := exchange(open(), paddedRequest("huge", size), true)
				if a.err != nil || a.status != http.StatusRequestHeaderFieldsTooLarge || !a.closed {
					t.Errorf("got %v, want 431 and the connection closed", a)
				}
				wellBehaved(t, p)
			})
		}
		t.Run(name+": 32 KiB of headers still pass", func(t *testing.T) {
			a := exchange(open(), paddedRequest("large", 32<<10), false)
			if a.err != nil || a.status != 200 {
				t.Errorf("got %v, want 200", a)
			}
		})
	}
	if n := len(withID(fake, "huge")); n != 0 {
		t.Errorf("the fake saw %d calls with oversized headers", n)
	}
	if n := len(withID(fake, "large")); n != 2 {
		t.Errorf("the fake saw %d calls with 32 KiB of headers, want 2", n)
	}
}

// trickle sends head and then one byte every 100 ms on c until a write
// fails or stop is closed.
func trickle(c net.Conn, head string, stop <-chan struct{}) {
	if _, err := io.WriteString(c, head); err != nil {
		return
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := c.Write([]byte("a")); err != nil {
				return
			}
		}
	}
}

// closedWithoutAnswer waits until the proxy closes c and fails the test if
// it answered anything first or kept c open past within.
func closedWithoutAnswer(t *testing.T, what string, c net.Conn, within time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	n, err := c.Read(make([]byte, 512))
	switch {
	case n > 0:
		t.Errorf("%s: the proxy answered a request whose headers never ended", what)
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Errorf("%s: still open after %v", what, within)
	}
}

func TestSlowlorisIsCutAtTheHeaderTimeout(t *testing.T) {
	t.Parallel()
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	const head = "GET /v1/users/me HTTP/1.1\r\nHost: localhost\r\nX-Test-Call-Id: slow\r\nX-Slow: "
	stop := make(chan struct{})
	var trickling sync.WaitGroup
	defer func() { close(stop); trickling.Wait() }()
	start := time.Now()
	conns := map[string]net.Conn{"in a tunnel": tunnel(t, p)}
	for i := range 20 {
		conns[fmt.Sprintf("on the listener #%d", i)] = rawConn(t, p)
	}
	for _, c := range conns {
		trickling.Add(1)
		go func() { defer trickling.Done(); trickle(c, head, stop) }()
	}

	wellBehaved(t, p) // while 21 connections trickle
	var wg sync.WaitGroup
	for what, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); closedWithoutAnswer(t, what, c, headerTimeout+timeoutSlack) }()
	}
	wg.Wait()
	t.Logf("every trickling connection closed within %v", time.Since(start).Round(time.Millisecond))
	wellBehaved(t, p)
	if n := len(withID(fake, "slow")); n != 0 {
		t.Errorf("the fake saw %d trickled calls", n)
	}
}

// stalledPost sends the headers of a POST announcing a 1000-byte body and
// only 10 bytes of it, then nothing.
func stalledPost(t *testing.T, c net.Conn, id string) <-chan rawAnswer {
	t.Helper()
	head := "POST /v1/pages HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
		"X-Test-Call-Id: " + id + "\r\nContent-Length: 1000\r\n\r\n" + `{"parent":`
	ch := make(chan rawAnswer, 1)
	go func() { ch <- exchange(c, []byte(head), true) }()
	return ch
}

func TestStalledBodyWhilePausedGets408(t *testing.T) {
	t.Parallel()
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	if r := admin(t, p, "/-/revoke", ""); r.code != 200 {
		t.Fatalf("revoke: %v", r)
	}
	// A well-behaved write waits for the token, longer than bodyIdleTimeout:
	// the body deadline must not cancel a call that has its whole body.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waiting := sendAsync(ctx, p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody("waits"), callHeader("waits"))
	p.waitProfile(t, "default", "the well-behaved call waiting", pausedWith(1))

	start := time.Now()
	stalled := map[string]<-chan rawAnswer{
		"on the listener": stalledPost(t, rawConn(t, p), "stalled"),
		"in a tunnel":     stalledPost(t, tunnel(t, p), "stalled-in-tunnel"),
	}
	if r := send(ctx, p.baseClient(), "GET", p.baseURL()+"/-/healthz", nil, nil); r.code != 200 {
		t.Errorf("healthz while bodies stall: %v", r)
	}
	for what, ch := range stalled {
		a := await(t, "a stalled body "+what, ch, bodyIdleTimeout+timeoutSlack)
		if a.err != nil || a.status != http.StatusRequestTimeout || a.notionCode() != "proxy_body_timeout" || !a.closed {
			t.Errorf("a stalled body %s got %v, want 408 proxy_body_timeout and the connection closed", what, a)
		}
	}
	t.Logf("stalled bodies answered after %v", time.Since(start).Round(time.Millisecond))
	if ps := p.profile(t, "default"); !pausedWith(1)(ps) {
		t.Errorf("after the stalled bodies: status %+v, want still paused with the one well-behaved call", ps)
	}
	stillWaiting(t, "the well-behaved call", waiting)

	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokB)))
	if r := await(t, "the well-behaved call", waiting, 20*time.Second); r.err != nil || r.code != 200 {
		t.Errorf("the well-behaved call got %v after the new token", r)
	}
	if got := withToken(fake, tokB); len(got) != 1 {
		t.Errorf("the fake saw %d calls with the new token, want the waiting one", len(got))
	}
	for _, id := range []string{"stalled", "stalled-in-tunnel"} {
		if n := len(withID(fake, id)); n != 0 {
			t.Errorf("the fake saw %d calls of %s", n, id)
		}
	}
	wellBehaved(t, p)
}

package integration_test

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Tests of parked calls (proxy/park.go): a call that waits for a token has
// its connection taken out of the HTTP server while it waits and handed
// back when the gate answers. The program must not be able to tell: the
// answer comes on the connection it asked on, framed as its request asked
// (HEAD, HTTP/1.0, Connection: close, pipelining, a chunked body), and the
// connection, or the intercepted tunnel with its proxy user, stays usable
// afterwards. These tests speak HTTP/1 by hand to see exactly that.

// session is one program connection to the proxy, spoken to by hand.
type session struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func newSession(t *testing.T, c net.Conn) *session {
	return &session{t: t, conn: c, br: bufio.NewReader(c)}
}

func (s *session) write(req string) {
	s.t.Helper()
	_ = s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(s.conn, req); err != nil {
		s.t.Fatalf("write: %v", err)
	}
}

// read reads one whole response to a request of method, within 15 s.
func (s *session) read(method string) (*http.Response, []byte) {
	s.t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(s.br, &http.Request{Method: method})
	if err != nil {
		s.t.Fatalf("read the answer to %s: %v", method, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read the body of the answer to %s: %v", method, err)
	}
	return resp, body
}

// closedByProxy reports whether the proxy closes the connection (EOF, no
// byte) within 5 s.
func (s *session) closedByProxy() bool {
	_ = s.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := s.br.ReadByte()
	return errors.Is(err, io.EOF)
}

// rawRequest is an HTTP/1.x request as a program writes it: POST carries a
// page body that the fake counts by id.
func rawRequest(method, target, proto, id string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\nHost: localhost\r\nNotion-Version: 2022-06-28\r\nX-Test-Call-Id: %s\r\n", method, target, proto, id)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if method != http.MethodPost {
		b.WriteString("\r\n")
		return b.String()
	}
	body := pageBody(id)
	if len(extra) > 0 && extra[len(extra)-1] == "Transfer-Encoding: chunked" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	} else {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	return b.String()
}

// TestAParkedCallKeepsItsConnection: a call that waited for a token is
// answered on its connection, which then serves the program's next call;
// through an intercepted tunnel, the next call still belongs to the
// profile the CONNECT's proxy user chose.
func TestAParkedCallKeepsItsConnection(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, twoProfiles(fake, fakeCA, tokA, tokB))
	betaUser := "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("beta-user:pw"))
	ways := []struct {
		name   string
		dial   func() net.Conn
		target string
		auth   []string // how the requests choose the beta profile
	}{
		{"base URL", func() net.Conn { return rawConn(t, p) }, "/v1/pages", []string{"Authorization: Bearer beta-key"}},
		{"HTTPS forward proxy", func() net.Conn { return tunnelAs(t, p, "beta-user") }, "/v1/pages", nil},
		{"plain HTTP forward proxy", func() net.Conn { return rawConn(t, p) }, "http://api.notion.com/v1/pages", []string{betaUser}},
	}
	next := []string{tokC, tokD, tokE}
	for i, way := range ways {
		t.Run(way.name+": the answer and the next call come on the same connection", func(t *testing.T) {
			if r := admin(t, p, "/-/revoke?profile=beta", ""); r.code != 200 {
				t.Fatalf("revoke: %v", r)
			}
			s := newSession(t, way.dial())
			first, second := "parked-first-"+way.name, "parked-second-"+way.name
			s.write(rawRequest("POST", way.target, "HTTP/1.1", first, way.auth...))
			p.waitProfile(t, "beta", "the call waiting", pausedWith(1))

			fake.AddToken(next[i])
			writeAtomic(t, p.cfgPath, []byte(twoProfiles(fake, fakeCA, tokA, next[i])))
			if resp, body := s.read("POST"); resp.StatusCode != 200 {
				t.Fatalf("the parked call got %d %s", resp.StatusCode, body)
			}
			s.write(rawRequest("POST", way.target, "HTTP/1.1", second, way.auth...))
			if resp, body := s.read("POST"); resp.StatusCode != 200 {
				t.Fatalf("the next call on the connection got %d %s", resp.StatusCode, body)
			}
			for _, id := range []string{first, second} {
				if n := fake.Applied()[id]; n != 1 {
					t.Errorf("%s applied %d times, want 1", id, n)
				}
				if got := lastSeenToken(fake, id); got != next[i] {
					t.Errorf("%s: the fake did not see the beta profile's new token (alpha's: %v)", id, got == tokA)
				}
			}
		})
	}
	p.stop()
	secretsIn(t, p, tokA, tokB, tokC, tokD, tokE)
}

// TestParkedCallsAreAnsweredAsTheirRequestsAsked: requests that park
// during one pause, each on its own connection, get answers framed for
// them, and their connections are kept or closed as they asked.
func TestParkedCallsAreAnsweredAsTheirRequestsAsked(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	if r := admin(t, p, "/-/revoke?profile=default", ""); r.code != 200 {
		t.Fatalf("revoke: %v", r)
	}
	type exchange struct {
		method string
		status int
		id     string // of a page the fake must have created once
	}
	cases := []struct {
		name    string
		send    string     // written at once, while the profile is paused
		answers []exchange // the answers expected, in order
		closed  bool       // the proxy closes the connection after them
	}{
		{
			name:    "HEAD gets an answer without a body",
			send:    rawRequest("HEAD", "/v1/users/me", "HTTP/1.1", "head"),
			answers: []exchange{{"HEAD", 400, ""}}, // Notion has no HEAD: the fake's invalid_request_url
		},
		{
			name:    "HTTP/1.0 gets HTTP/1.0 and its connection closed",
			send:    rawRequest("POST", "/v1/pages", "HTTP/1.0", "http10"),
			answers: []exchange{{"POST", 200, "http10"}},
			closed:  true,
		},
		{
			name:    "HTTP/1.0 with keep-alive keeps its connection",
			send:    rawRequest("POST", "/v1/pages", "HTTP/1.0", "http10-keep", "Connection: keep-alive"),
			answers: []exchange{{"POST", 200, "http10-keep"}},
		},
		{
			name:    "Connection: close closes after the answer",
			send:    rawRequest("POST", "/v1/pages", "HTTP/1.1", "close", "Connection: close"),
			answers: []exchange{{"POST", 200, "close"}},
			closed:  true,
		},
		{
			name:    "a chunked body closes after the answer",
			send:    rawRequest("POST", "/v1/pages", "HTTP/1.1", "chunked", "Transfer-Encoding: chunked"),
			answers: []exchange{{"POST", 200, "chunked"}},
			closed:  true,
		},
		{
			name: "pipelined requests are answered in order",
			send: rawRequest("POST", "/v1/pages", "HTTP/1.1", "pipelined-1") +
				rawRequest("POST", "/v1/pages", "HTTP/1.1", "pipelined-2"),
			answers: []exchange{{"POST", 200, "pipelined-1"}, {"POST", 200, "pipelined-2"}},
		},
	}
	sessions := make([]*session, len(cases))
	for i, tc := range cases {
		sessions[i] = newSession(t, rawConn(t, p))
		sessions[i].write(tc.send)
		p.waitProfile(t, "default", fmt.Sprintf("%d calls waiting", i+1), pausedWith(i+1))
	}
	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokB)))

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sessions[i]
			s.t = t
			wantProto := "HTTP/1.1"
			if strings.Contains(tc.send, " HTTP/1.0\r\n") {
				wantProto = "HTTP/1.0"
			}
			for _, want := range tc.answers {
				resp, body := s.read(want.method)
				if resp.StatusCode != want.status || resp.Proto != wantProto {
					t.Fatalf("%s: got %s %s %s, want %s %d", want.method, resp.Proto, resp.Status, body, wantProto, want.status)
				}
				if want.method == "HEAD" && len(body) != 0 {
					t.Errorf("HEAD: the answer has a body of %d bytes", len(body))
				}
				if want.id != "" {
					if n := fake.Applied()[want.id]; n != 1 {
						t.Errorf("%s applied %d times, want 1", want.id, n)
					}
				}
			}
			if tc.closed {
				if !s.closedByProxy() {
					t.Fatal("the proxy kept the connection open")
				}
				return
			}
			s.write(rawRequest("GET", "/v1/users/me", "HTTP/1.1", "after"))
			if resp, body := s.read("GET"); resp.StatusCode != 200 {
				t.Errorf("the next call on the connection got %d %s", resp.StatusCode, body)
			}
		})
	}
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

// TestAParkedProgramThatSendsMoreAndLeavesIsDropped: a program whose call
// is parked sends more on its connection (a pipelined request, a stray
// CRLF) and then closes it. Its parked call must be dropped, never sent,
// as for a program that just leaves; the bytes sent must not blind the
// watch. A program that sends more and stays gets both answers in order.
func TestAParkedProgramThatSendsMoreAndLeavesIsDropped(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	if r := admin(t, p, "/-/revoke?profile=default", ""); r.code != 200 {
		t.Fatalf("revoke: %v", r)
	}
	leaving := []struct {
		name, id, more string
	}{
		{"a pipelined POST, then close", "leaves-after-pipelining", rawRequest("POST", "/v1/pages", "HTTP/1.1", "leaves-pipelined-b")},
		{"a stray CRLF, then close", "leaves-after-crlf", "\r\n"},
	}
	for _, tc := range leaving {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, rawConn(t, p))
			s.write(rawRequest("POST", "/v1/pages", "HTTP/1.1", tc.id))
			p.waitProfile(t, "default", "the call parked", pausedWith(1))
			s.write(tc.more)
			s.conn.Close()
			p.waitProfile(t, "default", "the call dropped", pausedWith(0))
		})
	}
	// A program that sends more and stays.
	stays := newSession(t, rawConn(t, p))
	stays.write(rawRequest("POST", "/v1/pages", "HTTP/1.1", "stays-1"))
	p.waitProfile(t, "default", "the call parked", pausedWith(1))
	stays.write(rawRequest("POST", "/v1/pages", "HTTP/1.1", "stays-2"))

	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "", tokB)))
	for _, id := range []string{"stays-1", "stays-2"} {
		if resp, body := stays.read("POST"); resp.StatusCode != 200 {
			t.Fatalf("%s got %d %s", id, resp.StatusCode, body)
		}
		if n := fake.Applied()[id]; n != 1 {
			t.Errorf("%s applied %d times, want 1", id, n)
		}
	}
	for _, tc := range leaving {
		if n := len(withID(fake, tc.id)); n != 0 {
			t.Errorf("%s: the fake saw the call of a program that left %d times", tc.name, n)
		}
	}
	if n := len(withID(fake, "leaves-pipelined-b")); n != 0 {
		t.Errorf("the fake saw the pipelined call of a program that left %d times", n)
	}
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

package proxy

import (
	"io"
	"net/http"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/notion-proxy/notion-proxy/proxy/reqbody"
)

// Bounds on what a program may make the proxy wait for or hold, on the
// listener and inside intercepted tunnels alike. Calls may legitimately
// wait minutes for a token (pause.timeout), so none of them bounds a whole
// call or its answer: they bound only a program that sends too much, or
// stops sending.
const (
	// maxHeaderBytes bounds a request's line and headers together (Go's
	// server allows 4 KiB of slack above it). Beyond it the program gets
	// 431 and the connection is closed. Notion calls carry a few hundred
	// bytes of headers; 64 KiB is twice what nginx accepts by default, so
	// plain-HTTP requests forwarded to other hosts, cookies and all, fit.
	maxHeaderBytes = 64 << 10

	// headerTimeout bounds how long a program may take to send a request's
	// line and headers, counted from the connection's accept (or, on a
	// kept-alive connection, from the first byte of the request), and an
	// intercepted tunnel's TLS handshake. A program that trickles its
	// headers (slowloris) has its connection closed without an answer.
	headerTimeout = 10 * time.Second

	// bodyIdleTimeout bounds how long a request body may go without a
	// single byte arriving. It is reset by every read, so a large body on
	// a slow link is never cut while it makes progress. A body that stalls
	// gets 408 "proxy_body_timeout" and is never sent upstream.
	bodyIdleTimeout = 10 * time.Second
)

// readRequestBody reads r's body in full (reqbody.Read, up to limit) with
// bodyIdleTimeout between reads. A stalled body fails with an error
// matching os.ErrDeadlineExceeded; the connection's read deadline is then
// left in the past, so that net/http closes the connection instead of
// waiting for the rest of the body. After a successful read the deadline
// must be gone: net/http's background read, which notices a program going
// away, runs on the same connection for as long as the call waits (for a
// token, minutes), and a deadline expiring there would cancel the call.
// net/http clears it when it starts that read; clearing it here as well
// does not depend on that.
func readRequestBody(w http.ResponseWriter, r *http.Request, limit int64) (*reqbody.Body, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return reqbody.Read(r.Body, limit, "")
	}
	rc := http.NewResponseController(w)
	b, err := reqbody.ReadSized(idleDeadlineReader{r: r.Body, rc: rc}, r.ContentLength, limit, "")
	if err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return b, err
}

// idleDeadlineReader moves the connection's read deadline bodyIdleTimeout
// ahead before each read of a request body.
type idleDeadlineReader struct {
	r  io.Reader
	rc *http.ResponseController
}

func (d idleDeadlineReader) Read(p []byte) (int, error) {
	// On a connection that cannot take deadlines the read is unbounded,
	// as it was without this reader.
	_ = d.rc.SetReadDeadline(time.Now().Add(bodyIdleTimeout))
	return d.r.Read(p)
}

// closeIfChunked makes the answer to a request with a chunked body the
// connection's last. Go's server frames a request that has both
// Transfer-Encoding: chunked and Content-Length by the former (RFC 9112
// §6.3) and drops the latter, so the handler cannot refuse it; the RFC then
// requires closing the connection after the answer, which leaves whatever
// followed the chunked body (a smuggled request, to anything in front that
// framed by Content-Length) unread. Upstream, the proxy sends the body
// bytes it read with framing of its own, so nothing reaches Notion out of
// step either.
func closeIfChunked(w http.ResponseWriter, r *http.Request) {
	if len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
}

// closeForwardedIfChunked is closeIfChunked for plain-HTTP requests that
// goproxy forwards to other hosts: goproxy replaces the answer's headers
// with the other host's, so the mark goes on its response.
func closeForwardedIfChunked(resp *http.Response, ctx *goproxy.ProxyCtx) *http.Response {
	if resp != nil && ctx.Req != nil && len(ctx.Req.TransferEncoding) > 0 {
		resp.Header.Set("Connection", "close")
	}
	return resp
}

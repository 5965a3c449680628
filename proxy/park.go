package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Parking a call that waits for a token (docs/design.md#parking). A pause can last
// minutes and hold thousands of calls. Left to net/http, each would keep its
// connection's serving goroutine, a second goroutine watching for the
// program going away, and about 10 KiB of read and write buffers. Instead
// the waiting call's connection is hijacked and parked:
//
//   - one small goroutine (run) reads the connection to notice the program
//     going away, until the gate's answer or the pause timeout interrupts
//     the read; bytes the program sends meanwhile (a pipelined request) are
//     kept for after the answer, and the watch goes on; the call keeps only
//     its request and body;
//   - when the gate answers, the connection goes back to the http.Server it
//     came from through a listener of that server's own (resumeListener),
//     with a one-line request (resumeRequest) in front of whatever the
//     program sends next. That request stands for the parked call: the
//     server's handler finishes the call (resume), so the answer is
//     written, and the connection kept alive or closed, by net/http as for
//     any call;
//   - a program that went away while parked is logged and its connection
//     closed; nothing is sent upstream.
//
// Only a call's first wait is parked. A call that waits again (its new
// token rejected in flight) waits inside the reverse proxy, as does any
// call whose connection cannot be hijacked.

// parked is a call whose connection is parked while it waits for a token.
type parked struct {
	s     *Server
	conn  net.Conn
	req   *http.Request
	call  *call
	place *gate.Place
	ln    *connListener
	creds *rewrite.Credentials // an intercepted tunnel's, for its later requests

	// next holds bytes the program sent after its request (pipelined).
	next []byte
	one  [1]byte
	// answered is set by the gate's wake-up (Place.Notify).
	answered atomic.Bool
	// mu orders the wake-ups' interrupts (interrupt) before the hand-back
	// (handBack): a wake-up that runs late, after the connection went back
	// to the server, must not set its read deadline. That deadline would
	// fail net/http's own background read, which cancels the context of
	// every later request on the connection.
	mu         sync.Mutex
	handedBack bool

	// The gate's answer, set before the connection is handed back.
	ticket gate.Ticket
	err    error
}

// resumeListener returns the listener that hands parked connections back
// to the server that served r, or nil when r's server is not one of ours.
func (s *Server) resumeListener(r *http.Request) *connListener {
	switch r.Context().Value(http.ServerContextKey) {
	case s.ways.httpSrv:
		return s.parking.httpLn
	case s.ways.mitmSrv:
		return s.parking.mitmLn
	}
	return nil
}

// park hijacks the connection of a call that must wait at place and
// waits in the background. It reports false, having done nothing, when the
// call must wait in place instead: the connection cannot be hijacked, or
// the server is shutting down.
func (s *Server) park(w http.ResponseWriter, r *http.Request, c *call, place *gate.Place) bool {
	ln := s.resumeListener(r)
	hj, ok := w.(http.Hijacker)
	if ln == nil || !ok {
		return false
	}
	s.parking.mu.Lock()
	defer s.parking.mu.Unlock()
	if s.parking.closed {
		return false
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return false
	}
	p := &parked{s: s, conn: conn, req: r, call: c, place: place, ln: ln}
	if n := rw.Reader.Buffered(); n > 0 {
		buf, _ := rw.Reader.Peek(n)
		p.next = append([]byte(nil), buf...)
	}
	if creds, ok := r.Context().Value(tunnelCredsKey{}).(rewrite.Credentials); ok {
		p.creds = &creds
	}
	s.parking.calls.Add(1)
	go p.run()
	return true
}

// run waits for the gate's answer and hands the connection back, or
// closes it if the program went away. One goroutine does both: it reads
// the connection, as net/http's background read does, until the program
// goes away, the read deadline (the call's pause timeout) passes, or the
// gate's answer moves the deadline to the past. The call stays counted in
// parking.calls until resume has answered it or it is abandoned.
func (p *parked) run() {
	s, c := p.s, p.call
	start := s.now()
	p.place.Notify(func() {
		p.answered.Store(true) // before the deadline: see watchUntilAnswered
		p.interrupt()
	})
	err := p.watchUntilAnswered(start)
	gone := false
	switch {
	case errors.Is(err, errParkedExtraFull):
		// The program sent more than the watcher keeps: wait without
		// watching the connection, as net/http does.
		p.ticket, p.err = p.place.WaitLimit(context.Background(), func() (time.Duration, <-chan struct{}) {
			rt := s.runtime()
			return s.waitLeft(c, rt, start), rt.pauseTimeoutSet.Done()
		})
	case errors.Is(err, os.ErrDeadlineExceeded):
		p.ticket, p.err = p.place.Poll(gate.ErrPauseTimeout)
	default:
		gone = true
		p.ticket, p.err = p.place.Poll(context.Canceled)
	}
	c.noteWait(p.ticket, s.now().Sub(start))
	if gone {
		p.abandon(outcomeProgramGone)
		return
	}
	p.handBack()
	rc := &resumedConn{Conn: p.conn, prefix: append(resumeRequest(p.req), p.next...), creds: p.creds}
	rc.parked.Store(p)
	if !p.ln.push(rc) {
		// The server stopped accepting (a shutdown that outran Shutdown's
		// wait for parked calls): the program sees its connection close.
		p.abandon(gate.ErrClosed.Error())
	}
}

// watchUntilAnswered watches the parked connection (watch) until the gate
// answers, the call's pause timeout passes (both: os.ErrDeadlineExceeded)
// or the watch fails otherwise. The timeout is the current pause.timeout:
// a reload that changes it moves the read deadline, without a goroutine
// per parked call waiting for reloads.
func (p *parked) watchUntilAnswered(start time.Time) error {
	s, c := p.s, p.call
	for {
		rt := s.runtime()
		left := s.waitLeft(c, rt, start)
		// The deadline is set before checking for an answer, and the
		// gate's wake-up marks the answer before moving the deadline: an
		// answer this check misses moves the deadline after this does.
		_ = p.conn.SetReadDeadline(time.Now().Add(left))
		if left <= 0 || p.answered.Load() {
			return os.ErrDeadlineExceeded
		}
		stop := context.AfterFunc(rt.pauseTimeoutSet, p.interrupt)
		err := p.watch()
		stop()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		// The answer, the timeout, or a new pause.timeout: look again.
	}
}

// interrupt ends the watch's current read by moving the read deadline to
// the past, unless the connection was handed back. Both the gate's
// wake-up and a reload of pause.timeout call it, from their own
// goroutines, and either may run after the watch ended for another reason.
func (p *parked) interrupt() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.handedBack {
		_ = p.conn.SetReadDeadline(time.Unix(1, 0))
	}
}

// handBack clears the read deadline for the server the connection goes
// back to; interrupts after it do nothing.
func (p *parked) handBack() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handedBack = true
	_ = p.conn.SetReadDeadline(time.Time{})
}

// maxParkedExtra bounds what the watcher of a parked connection keeps of
// the bytes the program sends after its request (a pipelined request, a
// stray CRLF) for the requests that follow the answer.
const maxParkedExtra = 64 << 10

// errParkedExtraFull: the program sent maxParkedExtra bytes after its
// parked request.
var errParkedExtraFull = errors.New("parked connection: too many bytes after the request")

// watch reads the parked connection until a read fails: the deadline
// passed (os.ErrDeadlineExceeded), or the program went away (EOF, a
// reset). Bytes the program sends meanwhile do not stop it: they are kept
// in p.next, to be read by the server after the answer, and the watch
// goes on, so a program that pipelines and then leaves is still seen
// leaving. Past maxParkedExtra bytes it stops with errParkedExtraFull.
// The first read goes into the parked call's one-byte buffer: a larger
// one is only allocated for a program that sends more.
func (p *parked) watch() error {
	buf := p.one[:]
	for {
		n, err := p.conn.Read(buf)
		p.next = append(p.next, buf[:n]...)
		if err != nil {
			return err
		}
		if len(p.next) >= maxParkedExtra {
			return errParkedExtraFull
		}
		if n > 0 && len(buf) == 1 {
			buf = make([]byte, 4<<10)
		}
	}
}

// abandon ends a parked call that cannot be answered: nothing is sent,
// the call is logged with outcome and its connection closed.
func (p *parked) abandon(outcome string) {
	c := p.call
	if p.err == nil {
		c.report(p.ticket, gate.Unknown, nil)
	}
	c.status, c.outcome = 499, outcome
	c.body.Close()
	p.conn.Close()
	p.s.logCall(p.req, c)
	p.s.parking.calls.Done()
}

// resumeRequest is the request line a parked connection is handed back
// with. It has the parked request's method and protocol, so that net/http
// writes the answer as it would have to the parked request (no body for
// HEAD; HTTP/1.0 framing), and asks for the connection to be closed after
// it when the parked request did (Connection: close, HTTP/1.0 without
// keep-alive, or a chunked body; see closeIfChunked).
func resumeRequest(r *http.Request) []byte {
	connection := ""
	switch {
	case r.Close || len(r.TransferEncoding) > 0:
		connection = "Connection: close\r\n"
	case !r.ProtoAtLeast(1, 1):
		connection = "Connection: keep-alive\r\n"
	}
	return fmt.Appendf(nil, "%s /-/resume HTTP/%d.%d\r\nHost: notion-proxy\r\n%s\r\n",
		r.Method, r.ProtoMajor, r.ProtoMinor, connection)
}

// resumedConn is a parked connection handed back to its server: reads
// return prefix first, then the connection's bytes.
type resumedConn struct {
	net.Conn
	prefix []byte
	creds  *rewrite.Credentials
	parked atomic.Pointer[parked] // taken by the first request
}

// Close closes the connection; a call it still holds (the server closed it
// before reading the resume request) is abandoned.
func (c *resumedConn) Close() error {
	if p := c.parked.Swap(nil); p != nil {
		p.abandon(gate.ErrClosed.Error())
		return nil
	}
	return c.Conn.Close()
}

func (c *resumedConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

type resumedConnKey struct{}

// connContext is both servers' ConnContext: it gives a resumed
// connection's requests their parked call (for the first) and their
// tunnel's credentials, and an intercepted tunnel's requests its
// credentials.
func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*resumedConn); ok {
		ctx = context.WithValue(ctx, resumedConnKey{}, rc)
		if rc.creds != nil {
			ctx = context.WithValue(ctx, tunnelCredsKey{}, *rc.creds)
		}
		return ctx
	}
	return s.tunnelContext(ctx, c)
}

// resume finishes the parked call that r, the first request read from a
// resumed connection, stands for. It reports false for any other request.
func (s *Server) resume(w http.ResponseWriter, r *http.Request) bool {
	rc, _ := r.Context().Value(resumedConnKey{}).(*resumedConn)
	if rc == nil {
		return false
	}
	p := rc.parked.Swap(nil)
	if p == nil {
		return false
	}
	defer s.parking.calls.Done()
	req := p.req.WithContext(context.WithValue(r.Context(), callKey{}, p.call))
	s.corsForResumed(w, p.req)
	s.forward(w, req, p.call, p.ticket, p.err)
	return true
}

// closeParking makes later calls wait in place, and waits (bounded by ctx)
// for the parked ones to be answered or abandoned. The gates must be
// closed first, so that no parked call is left waiting.
func (s *Server) closeParking(ctx context.Context) {
	s.parking.mu.Lock()
	s.parking.closed = true
	s.parking.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.parking.calls.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

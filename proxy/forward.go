package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/reqbody"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// maxAnswerBytes bounds how much of a 401 answer is read to classify it;
// a longer one is passed on whole, unjudged (peekAnswer).
const maxAnswerBytes = 1 << 20

// call is one program call to Notion as it travels from serveNotion through
// the reverse proxy to roundTrip, and back for the log line. Only the
// goroutine serving the call touches it.
type call struct {
	seq     uint64
	start   time.Time
	rt      *runtimeConfig // the config the call was admitted under (its body limit); sends use the current one
	profile *profile
	body    *reqbody.Body
	oauth   bool

	attempts       int
	retries        map[string]int // by reason
	waitedForToken bool
	tokenWait      time.Duration // time spent waiting for a token so far
	waitedForRate  bool
	waited         time.Duration // retry.max_wait spent, one budget: back-offs, and waits for the scheduler (429 holds too)
	scheduled      bool          // a send granted by the scheduler is out (ratelimit.go)
	last429        *gate.Answer  // the call's latest 429 or 529
	replayed       bool          // sent after waiting for a token
	lastToken      string
	upstreamHost   string // where the last send went
	last401        *gate.Answer
	status         int
	upstreamStatus int   // Notion's status, when the program got another (a cut body)
	bodyErr        error // why reading the answer's body failed, if it did
	requestID      string
	outcome        string // why the proxy answered itself, if it did

	// The gate's answer that serveNotion waited for, for roundTrip's
	// first attempt (hasPending until roundTrip takes it).
	pending    gate.Ticket
	pendingErr error
	hasPending bool
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// serveNotion serves one call to the Notion API: whatever way it came in,
// r.URL.Path is the Notion path.
func (s *Server) serveNotion(w http.ResponseWriter, r *http.Request) {
	c, r := s.admit(w, r)
	if c == nil {
		return
	}
	// Wait for the gate here rather than inside the reverse proxy: a call
	// that waits minutes for a token then holds no outgoing copy of itself,
	// and its connection can be parked outside net/http (park.go).
	t, parked, err := s.acquire(r.Context(), c, func(place *gate.Place) bool { return s.park(w, r, c, place) })
	if parked {
		return // the parked call is finished by resume
	}
	s.forward(w, r, c, t, err)
}

// admit reads a call's body and picks its profile. It returns the call and
// the request to forward, carrying the call in its context, or a nil call
// when it has answered the program itself (and logged the call).
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (*call, *http.Request) {
	rt := s.runtime()
	c := &call{seq: s.seq.Add(1), start: s.now(), rt: rt, oauth: rewrite.IsOAuthEndpoint(r.URL.Path)}
	refuse := func(status int, outcome, code, msg string) (*call, *http.Request) {
		c.outcome = outcome
		s.writeError(w, c, status, code, msg)
		s.logCall(r, c)
		return nil, r
	}
	if r.ContentLength > rt.cfg.MaxBodyBytes {
		return refuse(http.StatusRequestEntityTooLarge, outcomeBodyTooLarge, codeBodyTooLarge,
			fmt.Sprintf("request body of %d bytes is over max_body_bytes (%d)", r.ContentLength, rt.cfg.MaxBodyBytes))
	}
	b, err := readRequestBody(w, r, rt.cfg.MaxBodyBytes)
	switch {
	case errors.Is(err, reqbody.ErrTooLarge):
		return refuse(http.StatusRequestEntityTooLarge, outcomeBodyTooLarge, codeBodyTooLarge,
			fmt.Sprintf("request body is over max_body_bytes (%d)", rt.cfg.MaxBodyBytes))
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		return refuse(http.StatusRequestTimeout, outcomeBodyStalled, codeBodyTimeout,
			fmt.Sprintf("request body stalled: no byte for %v", bodyIdleTimeout))
	case err != nil:
		return refuse(http.StatusBadRequest, outcomeBodyUnreadable, codeBadRequest, err.Error())
	}
	c.body = b
	creds := rewrite.IncomingCredentials(r.Header)
	if tc, ok := r.Context().Value(tunnelCredsKey{}).(rewrite.Credentials); ok && creds.ProxyUser == "" {
		creds.ProxyUser, creds.ProxyPass = tc.ProxyUser, tc.ProxyPass
	}
	c.profile = s.profiles.sel(creds)

	r.Body, r.ContentLength = b.NewReader(), b.Len()
	return c, r.WithContext(context.WithValue(r.Context(), callKey{}, c))
}

// forward sends an admitted call upstream through the reverse proxy, given
// the gate's answer to its first attempt, and logs it.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, c *call, t gate.Ticket, err error) {
	defer s.logCall(r, c)
	defer c.noteBodyCut(r)
	defer c.body.Close()
	defer c.settle() // deferred: an aborted answer panics through ServeHTTP
	c.pending, c.pendingErr, c.hasPending = t, err, true
	s.ways.rp.ServeHTTP(w, r)
}

// settle hands back what a call still holds when its handler ends: the
// gate's ticket when the reverse proxy refused the call before sending it
// (a probe's would be held forever), and the scheduler's grant, which
// never outlives its call.
func (c *call) settle() {
	if c.hasPending && c.pendingErr == nil {
		c.report(c.pending, gate.Unknown, nil)
	}
	c.sent(false)
}

// rewriteOut points the outgoing request at the current upstream. Each
// send points its own copy again, and sets the headers, token included,
// from the config current then (send).
func (s *Server) rewriteOut(pr *proxyRequest) {
	up := s.runtime().cfg.Upstream
	pr.Out.URL.Scheme, pr.Out.URL.Host = up.Scheme, up.Host
	pr.Out.Host = ""
}

// roundTrip sends one call upstream and returns the answer the program
// gets. It pauses on an invalid-token answer and replays when the gate lets
// it (docs/design.md#the-gate-pause-and-replay), sends when its profile's scheduler lets it (rate limits, rate_limit), and retries rate-limited and, for safe
// calls, transient failures (docs/design.md#retries-and-rate-limits). Every send uses the same body bytes.
func (s *Server) roundTrip(req *http.Request) (*http.Response, error) {
	c := callFrom(req.Context())
	ctx := req.Context()
	for {
		t, err := c.pending, c.pendingErr
		if c.hasPending {
			c.hasPending = false
		} else {
			t, _, err = s.acquire(ctx, c, nil)
		}
		if err != nil {
			if gate.GaveUp(err) {
				return s.gaveUpAnswer(req, c, err), nil
			}
			return nil, err
		}
		if err := s.schedule(ctx, c); err != nil {
			c.report(t, gate.Unknown, nil)
			if errors.Is(err, errRateLimitGaveUp) {
				c.outcome = err.Error()
				ans := c.rateLimitAnswer()
				c.status = ans.Status
				return responseOf(ans, req), nil
			}
			return nil, err
		}
		rt, err := s.sendConfig(c, t)
		if err != nil {
			// Nothing is sent: hand back the scheduler's grant and the
			// gate's ticket.
			c.sent(false)
			c.report(t, gate.Unknown, nil)
		}
		if errors.Is(err, errTokenChanged) {
			continue // a reload changed the token since t: take the new one
		}
		if err != nil {
			return s.gaveUpAnswer(req, c, err), nil
		}
		if t.Waited() || c.last401 != nil {
			c.replayed = true
		}
		resp, err := s.send(req, c, rt, t.Token)
		if err != nil {
			c.sent(false)
			c.report(t, gate.Unknown, nil)
			if d, ok := s.retryWait(c, req, 0, ""); ok && sleep(ctx, d) == nil {
				continue
			}
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && !c.oauth {
			ans, long, err := peekAnswer(resp)
			c.sent(err == nil)
			if err != nil {
				c.report(t, gate.Unknown, nil)
				return nil, err
			}
			if ans != nil && rewrite.IsInvalidToken(ans.Status, ans.Header, ans.Body) {
				c.last401 = ans
				c.waitedForToken = true
				c.report(t, gate.Rejected, ans)
				continue
			}
			if ans != nil {
				resp = responseOf(ans, req)
			} else {
				resp = long
			}
		}
		limited := rewrite.IsRateLimited(resp.StatusCode)
		if limited && rt.cfg.Retry.RateLimited {
			// The profile's hold, not a sleep of this call's own, makes
			// it (and every other call of the profile) wait.
			resp, err = s.holdProfile(c, req, resp)
			c.sent(false)
			if err != nil {
				c.report(t, gate.Unknown, nil)
				return nil, err
			}
		}
		c.sent(!limited)
		if d, ok := s.retryWait(c, req, resp.StatusCode, resp.Header.Get("Retry-After")); ok {
			// Rate limits and 5xx say nothing about the token.
			c.report(t, gate.Unknown, nil)
			discard(resp)
			if limited && rt.cfg.Retry.RateLimited && !c.oauth {
				continue // the profile's hold is the wait (schedule)
			}
			// A transient failure, or an OAuth call's 429 (OAuth calls
			// have no scheduler, so no hold): the call waits on its own.
			if err := sleep(ctx, d); err != nil {
				return nil, err
			}
			continue
		}
		c.report(t, gate.Accepted, nil)
		if resp.StatusCode != http.StatusSwitchingProtocols { // an upgraded body must stay writable
			resp.Body = &watchedBody{ReadCloser: resp.Body, c: c}
		}
		return resp, nil
	}
}

// acquire is the one way a call gets its ticket from its profile's gate
// (docs/design.md#waiting-for-a-ticket): at once, or after waiting at its
// place in the queue. When the call must wait and park is not nil, park
// may take the wait over (a parked call, park.go): acquire then reports
// parked, with no ticket. Notion's OAuth endpoints carry the program's own
// Basic credentials: they are never paused and never given a profile
// token.
func (s *Server) acquire(ctx context.Context, c *call, park func(*gate.Place) bool) (t gate.Ticket, parked bool, err error) {
	if c.oauth {
		return gate.Ticket{}, false, nil
	}
	t, place, err := c.profile.gate.Join(c.seq)
	if place == nil {
		return t, false, err
	}
	if park != nil && park(place) {
		return gate.Ticket{}, true, nil
	}
	t, err = s.wait(ctx, c, place)
	return t, false, err
}

// wait waits at place for the call's ticket.
func (s *Server) wait(ctx context.Context, c *call, place *gate.Place) (gate.Ticket, error) {
	start := s.now()
	t, err := place.WaitLimit(ctx, func() (time.Duration, <-chan struct{}) {
		rt := s.runtime()
		return s.waitLeft(c, rt, start), rt.pauseTimeoutSet.Done()
	})
	c.noteWait(t, s.now().Sub(start))
	return t, err
}

// waitLeft is how much longer c, waiting since start, may wait for a token
// under rt's pause.timeout (the current one: a reload applies to calls
// already waiting). pause.timeout bounds the call's whole wait, however
// many times a rejected new token sends it back to the queue.
func (s *Server) waitLeft(c *call, rt *runtimeConfig, start time.Time) time.Duration {
	return rt.cfg.Pause.Timeout - c.tokenWait - s.now().Sub(start)
}

// noteWait counts d, the time the call spent at its place in the queue,
// if it did wait there.
func (c *call) noteWait(t gate.Ticket, d time.Duration) {
	if t.Waited() {
		c.waitedForToken = true
		c.tokenWait += d
	}
}

// report tells the profile's gate how a send went (not for OAuth calls).
func (c *call) report(t gate.Ticket, v gate.Verdict, ans *gate.Answer) {
	if !c.oauth {
		c.profile.gate.Report(t, v, ans)
	}
}

// send makes one attempt with token ("" = keep the program's
// Authorization) under rt, the config current now (sendConfig): its
// upstream, transport and notion_version.
func (s *Server) send(req *http.Request, c *call, rt *runtimeConfig, token string) (*http.Response, error) {
	// req is the reverse proxy's own copy of the program's request: the
	// first attempt rewrites it in place. A later attempt gets a shallow
	// copy with a header and URL of its own, since a transport may still
	// read an earlier attempt's after answering it; Apply gives the same
	// header whether it starts from the program's or from an earlier
	// attempt's.
	out := req
	if c.attempts > 0 {
		out = new(http.Request)
		*out = *req
		out.Header = req.Header.Clone()
		u := *req.URL
		out.URL = &u
	}
	up := rt.cfg.Upstream
	out.URL.Scheme, out.URL.Host = up.Scheme, up.Host
	c.upstreamHost = up.Host
	out.Body, out.ContentLength = c.body.NewReader(), c.body.Len()
	out.GetBody = func() (io.ReadCloser, error) { return c.body.NewReader(), nil }
	if token != "" {
		rewrite.Outgoing{Token: token, NotionVersion: rt.cfg.NotionVersion}.Apply(out.Header, out.URL.Path)
	} else {
		rewrite.Outgoing{NotionVersion: rt.cfg.NotionVersion}.Apply(out.Header, out.URL.Path)
	}
	c.attempts++
	c.lastToken = token
	start := s.now()
	resp, err := rt.upstream.RoundTrip(out)
	s.metrics.UpstreamLatency.WithLabelValues(c.profileName()).Observe(s.now().Sub(start).Seconds())
	if err != nil {
		return nil, err
	}
	c.status = resp.StatusCode
	c.requestID = resp.Header.Get("X-Notion-Request-Id")
	if c.requestID == "" {
		c.requestID = resp.Header.Get("X-Request-Id")
	}
	return resp, nil
}

// gaveUpAnswer is the answer of a call that the gate's own end to its wait
// (gate.GaveUp), or a reload that removed its profile, stopped: rejectionFor.
func (s *Server) gaveUpAnswer(req *http.Request, c *call, err error) *http.Response {
	s.tellGaveUp(c, err)
	c.outcome = err.Error()
	ans := s.rejectionFor(c)
	c.status = ans.Status
	return responseOf(ans, req)
}

// rejectionFor is the answer a call gets when it gives up waiting: its own
// invalid-token answer, else the one that paused its profile, else a
// Notion-shaped 401 (no token was ever configured, or /-/revoke).
func (s *Server) rejectionFor(c *call) *gate.Answer {
	if c.last401 != nil {
		return c.last401
	}
	if a := c.profile.gate.Rejection(); a != nil {
		return a
	}
	return syntheticInvalidToken()
}

// copyBufferSize is the size of the buffers answers are copied through.
const copyBufferSize = 32 << 10

// bufferPool lends httputil.ReverseProxy the buffers it copies answers
// through, instead of a new 32 KiB buffer for every call. A buffer is
// only lent while an answer is copied, never while a call waits.
type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, copyBufferSize)
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) == copyBufferSize {
		b = b[:copyBufferSize]
		p.pool.Put(&b)
	}
}

// proxyError answers a call that got no upstream answer.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c := callFrom(r.Context())
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		c.status, c.outcome = 499, outcomeProgramGone
		// Nothing has been written. Returning would let net/http answer
		// 200 with an empty body, which a program that is still there (it
		// only half-closed its connection, or net/http's read of it
		// failed) would take for a success: close the connection instead.
		panic(http.ErrAbortHandler)
	}
	c.outcome = outcomeUpstreamUnreachable
	host := c.upstreamHost
	if host == "" {
		host = s.runtime().cfg.Upstream.Host
	}
	s.writeError(w, c, http.StatusBadGateway, codeUpstreamUnreachable,
		fmt.Sprintf("notion-proxy could not reach %s: %v", host, err))
}

// writeError writes an answer in Notion's error shape.
func (s *Server) writeError(w http.ResponseWriter, c *call, status int, code, msg string) {
	if c != nil {
		c.status = status
	}
	writeNotionError(w, status, code, msg)
}

// profileName is the call's profile name, or "" before one is chosen.
func (c *call) profileName() string {
	if c.profile == nil {
		return ""
	}
	return c.profile.name
}

// logCall writes the call's one info line and counts it.
func (s *Server) logCall(r *http.Request, c *call) {
	if c.profile != nil {
		s.metrics.ObserveCall(c.profile.name, r.Method, c.status, c.retries, c.replayed)
	}
	ev := s.log.Info()
	if c.status >= 500 || c.outcome != "" {
		ev = s.log.Warn()
	}
	ev = ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", c.status).
		Float64("duration_ms", millis(s.now().Sub(c.start))).Int("attempts", c.attempts).
		Bool("waited_for_token", c.waitedForToken).Bool("waited_for_rate", c.waitedForRate)
	if len(c.retries) > 0 {
		d := zerolog.Dict()
		for reason, n := range c.retries {
			d = d.Int(reason, n)
		}
		ev = ev.Dict("retries", d)
	}
	if c.profile != nil {
		ev = ev.Str("profile", c.profile.name)
	}
	if c.lastToken != "" {
		ev = ev.Str("token", c.profile.fingerprint(c.lastToken))
	}
	if c.requestID != "" {
		ev = ev.Str("notion_request_id", c.requestID)
	}
	if c.upstreamStatus != 0 {
		ev = ev.Int("upstream_status", c.upstreamStatus)
	}
	if c.outcome != "" {
		ev = ev.Str("outcome", c.outcome)
	}
	ev.Msg("call")
}

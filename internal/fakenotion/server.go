// Package fakenotion is a fake Notion API server for integration tests and
// benchmarks. It speaks Notion's real shapes (objects, lists, the error
// object, x-notion-request-id, Retry-After) over real TLS on loopback, keeps
// its own record of every request it received and every write it applied,
// and can be told to reject tokens, fail, drop connections, answer like the
// CDN in front of Notion, redirect, answer slowly, or enforce a rate limit
// (a token bucket or a per-window budget, answering Notion's 429).
//
// Tests read results from the fake's record (Requests, Applied, Hits), never
// from the code under test.
package fakenotion

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// maxBodyBytes caps what the fake reads of a request body. Well above the
// 6 MiB tests send and the 16 MiB the proxy must be able to pass.
const maxBodyBytes = 64 << 20

// Server is a running fake Notion API. All methods are safe for concurrent
// use. Start creates one; Close stops it.
type Server struct {
	tls       *serverTLS
	httpSrv   *http.Server
	url       string
	closing   chan struct{} // closed by Close: delayed answers give up
	serveDone chan struct{} // closed when the serve goroutine has returned
	closeOnce sync.Once
	closeErr  error
	handlers  sync.WaitGroup // handler calls in progress

	mu         sync.Mutex
	closed     bool
	tokens     map[string]bool
	secrets    map[string]bool // every token and refresh token ever valid
	delay      time.Duration
	failN      int
	failStatus int
	failRetry  string
	// oauthFail is FailNextOAuth's: the same, for /v1/oauth/* only.
	oauthFail struct {
		n      int
		status int
		retry  string
	}
	dropN      int
	cdnN       int
	cdnStatus  int
	redirN     int
	redirStat  int
	redirTo    string
	scriptN    int
	script     Scripted
	requests   []Request
	generation int // bumped by Reset, so in-flight calls stop recording
	applied    map[string]int
	hits       map[string]int
	refreshes  int
	oauth      *oauthConfig
	world      *world
	clients    []*http.Client
	limit      *limiter // SetLimit's; nil: none
	limited    int      // calls answered 429 by the limit
}

// Start starts a fake on 127.0.0.1 (a free port) with TLS from a CA generated
// in memory, accepting validTokens as valid Bearer tokens. It serves
// HTTP/1.1 with keep-alive. The caller must Close it.
func Start(validTokens ...string) (*Server, error) {
	material, err := newServerTLS()
	if err != nil {
		return nil, fmt.Errorf("fakenotion: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakenotion: listen: %w", err)
	}
	s := &Server{
		tls:       material,
		url:       "https://" + ln.Addr().String(),
		closing:   make(chan struct{}),
		serveDone: make(chan struct{}),
		tokens:    map[string]bool{},
		secrets:   map[string]bool{},
		applied:   map[string]int{},
		hits:      map[string]int{},
		world:     newWorld(),
	}
	for _, tok := range validTokens {
		s.tokens[tok] = true
		s.secrets[tok] = true
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true) // HTTP/1.1 only, so DropNext can always hijack
	s.httpSrv = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{material.leaf}, MinVersion: tls.VersionTLS12},
		Protocols:         &protocols,
		ReadHeaderTimeout: 30 * time.Second,
		// Handshake failures from clients that do not trust the CA are
		// the client's business; keep test output clean.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.serveDone)
		_ = s.httpSrv.ServeTLS(ln, "", "") // returns http.ErrServerClosed on Close
	}()
	return s, nil
}

// URL returns the fake's base URL, "https://127.0.0.1:PORT" (no trailing
// slash); API paths are below it, e.g. URL()+"/v1/users/me".
func (s *Server) URL() string { return s.url }

// CAPEM returns the PEM of the CA certificate that signed the fake's server
// certificate. The caller may keep and modify the returned slice.
func (s *Server) CAPEM() []byte { return append([]byte(nil), s.tls.caPEM...) }

// WriteCA writes CAPEM to path with mode 0644 (for upstream_ca, or
// NODE_EXTRA_CA_CERTS).
func (s *Server) WriteCA(path string) error {
	if err := os.WriteFile(path, s.tls.caPEM, 0o644); err != nil {
		return fmt.Errorf("write fake CA %s: %w", path, err)
	}
	return nil
}

// Client returns a new HTTP client that trusts the fake's CA, ignores proxy
// environment variables and keeps up to 256 idle connections to the fake:
// the direct path that a benchmark compares the proxy with. Close closes
// its idle connections.
func (s *Server) Client() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.TLSClientConfig = &tls.Config{RootCAs: s.tls.pool, MinVersion: tls.VersionTLS12}
	transport.MaxIdleConns = 256
	transport.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: transport}
	s.mu.Lock()
	s.clients = append(s.clients, client)
	s.mu.Unlock()
	return client
}

// Close stops the fake: it closes the listener and every connection, makes
// delayed answers give up, waits for the serving goroutines to return and
// closes the idle connections of the clients made by Client. It is
// idempotent; later calls return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		clients := s.clients
		s.mu.Unlock()
		if err := s.httpSrv.Close(); err != nil {
			s.closeErr = fmt.Errorf("fakenotion: close: %w", err)
		}
		close(s.closing)
		<-s.serveDone
		s.handlers.Wait()
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	})
	return s.closeErr
}

// AddToken makes tok a valid Bearer token.
func (s *Server) AddToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = true
	s.secrets[tok] = true
}

// Secrets returns every access token and refresh token that was ever valid
// at the fake, revoked ones included: what a test suite must never find in
// a log. Reset does not clear it.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.secrets))
	for tok := range s.secrets {
		out = append(out, tok)
	}
	return out
}

// Revoke makes tok invalid: every later call presenting it gets Notion's
// invalid-token 401, and none of its writes is applied.
func (s *Server) Revoke(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tok)
}

// FailNext makes the next n calls (any path except /v1/oauth/*, any token)
// answer status in Notion's error shape instead of being served: 429
// rate_limited, 500 internal_server_error, 502 bad_gateway, 503
// service_unavailable, 504 gateway_timeout, 529 service_overload (other
// statuses get the code Notion uses for them). If retryAfter is not "" the
// answer carries it as the Retry-After header. Such calls are recorded (as
// OutcomeInjected) but never applied. It replaces any earlier FailNext.
func (s *Server) FailNext(n int, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failRetry = n, status, retryAfter
}

// FailNextOAuth makes the next n calls to /v1/oauth/* answer status in
// Notion's error shape, with Retry-After retryAfter when it is not "" (as
// FailNext does for the other paths). Never applied.
func (s *Server) FailNextOAuth(n int, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthFail.n, s.oauthFail.status, s.oauthFail.retry = n, status, retryAfter
}

// DropNext makes the next n calls (except /v1/oauth/*) end with the
// connection closed after the body was read and before any response: a
// connection error for the caller. Note that Go's http.Transport silently
// resends a replayable request (GET, or one with Idempotency-Key) whose
// reused connection was closed, so a dropped GET can be invisible to its
// caller and consume a second drop.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropN = n
}

// CDNErrorNext makes the next n calls (except /v1/oauth/*) answer status
// with a Cloudflare-style HTML page: a cf-ray header, Server: cloudflare, no
// x-notion-request-id. Never applied.
func (s *Server) CDNErrorNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cdnN, s.cdnStatus = n, status
}

// RedirectNext makes the next n calls (except /v1/oauth/*) answer status
// (a 3xx) with a Location header of location, unchanged, the way a
// misconfigured edge in front of Notion might. Notion itself never
// redirects an API call. Such calls are recorded (as OutcomeRedirected)
// but never applied. It replaces any earlier RedirectNext.
func (s *Server) RedirectNext(n int, status int, location string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirN, s.redirStat, s.redirTo = n, status, location
}

// SetDelay holds back every answer (OAuth included; dropped connections
// excepted) by d. A call whose caller goes away during the delay is
// recorded as OutcomeCanceled and neither applied nor answered.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// injection is what a call is due to get instead of being served.
type injection int

const (
	injectNone injection = iota
	injectDrop
	injectCDN
	injectFail
	injectRedirect
)

// takeInjection consumes one pending injection, if any, for a call. Drops
// come first, then CDN errors, then failures, then redirects. text is the
// Retry-After of a failure and the Location of a redirect. OAuth calls
// get only FailNextOAuth's failures.
func (s *Server) takeInjection(oauth bool) (kind injection, status int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if oauth {
		if f := &s.oauthFail; f.n > 0 {
			f.n--
			return injectFail, f.status, f.retry
		}
		return injectNone, 0, ""
	}
	switch {
	case s.dropN > 0:
		s.dropN--
		return injectDrop, 0, ""
	case s.cdnN > 0:
		s.cdnN--
		return injectCDN, s.cdnStatus, ""
	case s.failN > 0:
		s.failN--
		return injectFail, s.failStatus, s.failRetry
	case s.redirN > 0:
		s.redirN--
		return injectRedirect, s.redirStat, s.redirTo
	}
	return injectNone, 0, ""
}

// enter registers a handler call, unless the fake is closing.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.handlers.Add(1)
	return true
}

// wait holds the answer back by the current delay. It reports false if the
// caller went away or the fake is closing first.
func (s *Server) wait(ctx context.Context) bool {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

// serve is the fake's one handler: record, inject, authenticate, route.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer s.handlers.Done()

	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	digest := sha256.Sum256(body)
	token := bearerToken(r.Header.Get("Authorization"))
	c := &call{
		s:         s,
		w:         w,
		r:         r,
		body:      body,
		sum:       hex.EncodeToString(digest[:]),
		token:     token,
		requestID: newRequestID(),
		echo:      r.Header.Get("X-Fake-Echo") == "1",
	}
	c.ref = s.record(r, token, c.sum, len(body))
	if readErr != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(readErr, &tooLarge) {
			c.fail(http.StatusRequestEntityTooLarge, "validation_error", "Request body too large.", OutcomeBodyTooLarge)
			return
		}
		s.finish(c.ref, 0, OutcomeCanceled) // the caller broke off mid-body
		return
	}

	isOAuth := strings.HasPrefix(r.URL.Path, "/v1/oauth/")
	kind, status, text := s.takeInjection(isOAuth)
	if kind == injectDrop {
		c.drop()
		return
	}
	if !s.wait(r.Context()) {
		c.abandon()
		return
	}
	switch kind {
	case injectCDN:
		c.cdnError(status)
		return
	case injectFail:
		c.injectedError(status, text)
		return
	case injectRedirect:
		c.redirect(status, text)
		return
	}
	if a, ok := s.takeScripted(isOAuth); ok {
		c.scripted(a)
		return
	}
	if isOAuth {
		s.serveOAuth(c)
		return
	}
	if retryAfter, ok := s.overLimit(token, time.Now()); !ok {
		c.rateLimited(retryAfter, s.limitReason())
		return
	}
	s.serveAPI(c)
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header, or "" for any other header.
func bearerToken(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// Package proxy is notion-proxy's network side: the listener and its three
// ways in (HTTPS forward proxy with interception, plain-HTTP forward proxy,
// base URL), the token store and per-profile gate that pause and replay
// calls, the local CA, config reloads and the admin endpoints. The pure
// request/response decisions it makes live in package rewrite.
package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"
	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/filewatch"
	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/localca"
	"github.com/notion-proxy/notion-proxy/proxy/metrics"
	"github.com/notion-proxy/notion-proxy/proxy/tokensource"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

type proxyRequest = httputil.ProxyRequest

// Options holds what a Server takes from its owner besides the config.
type Options struct {
	// Logger receives every log line. The zero Logger discards.
	Logger zerolog.Logger
	// Getenv reads environment variables (token_env); nil means os.Getenv.
	Getenv func(string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LogWriter reports on the writer behind Logger (a *logbatch.Writer) for
	// /metrics and /-/healthz; nil: nothing to report.
	LogWriter LogWriterHealth
}

// runtimeConfig is what one call needs of the current config, swapped
// atomically on reload. Every send reads the one current at that moment
// (docs/design.md#config-and-reloads), together with its token (sendConfig).
type runtimeConfig struct {
	cfg      *config.Config
	upstream *http.Transport
	// pauseTimeoutSet ends when a reload changes pause.timeout, so that
	// calls waiting for a token measure their wait against the new one.
	pauseTimeoutSet context.Context
	endPauseTimeout context.CancelFunc
}

// Server is a running notion-proxy: one listener serving the three ways in
// and the admin endpoints. Create it with New, run it with Serve, stop it
// with Shutdown.
type Server struct {
	log    zerolog.Logger
	getenv func(string) string
	now    func() time.Time
	seq    atomic.Uint64
	// logWriter reports on the log's writer (loghealth.go); may be nil.
	logWriter LogWriterHealth

	rt atomic.Pointer[runtimeConfig]
	// applyMu is held for writing while a reload swaps the runtime config
	// and the profiles' tokens, and for reading while a send takes its
	// config and checks its token (sendConfig): a token and the upstream
	// it goes to always come from the same config.
	applyMu  sync.RWMutex
	profiles *profiles
	metrics  *metrics.Metrics
	refusals *refusals // browser refusals (browser.go)
	// human is what the person who fixes the token is told and shown
	// (events.go, admin/page.go).
	human *humanSide

	ways     waysIn
	parking  parking
	bg       background
	reloads  reloads
	status   reloadStatus
	replicas replicas // the other replicas of the integration (replicas.go)
}

// waysIn are the servers behind the one listener: the base URL's reverse
// proxy, the forward proxy and the interception of CONNECTs to Notion.
type waysIn struct {
	rp      *httputil.ReverseProxy
	gp      *goproxy.ProxyHttpServer
	httpSrv *http.Server
	mitmSrv *http.Server
	mitmLn  *connListener
	ca      *localca.CA // signs the interception's certificates
	// self is the listener's address, learned in Serve, that proxy
	// requests may not target (targets.go).
	self atomic.Pointer[netip.AddrPort]
	// tunnelCreds maps an intercepted *tls.Conn to the proxy credentials of
	// the CONNECT that opened it: requests inside the tunnel carry none, but
	// the proxy user still selects their profile.
	tunnelCreds sync.Map
}

// parking is what parked calls need (park.go): their connections go back
// to their server through httpLn and mitmLn; calls counts the calls
// parked; closed, guarded by mu, refuses new ones once shutting down.
type parking struct {
	httpLn *connListener
	mitmLn *connListener
	mu     sync.Mutex
	closed bool
	calls  sync.WaitGroup
}

// background owns the server's goroutines: ctx ends at Shutdown, wg counts
// them.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// reloads is the state of config reloads, guarded by mu (held for the
// whole of a reload).
type reloads struct {
	mu       sync.Mutex
	lastHash [sha256.Size]byte
	// Failed reads waiting to be retried (by the watcher), the descriptor
	// kept for reading the config when none is left (readconfig.go), and
	// the limiter of repeated reload errors.
	readRetry *filewatch.Retry
	spareFD   *os.File
	errLog    repeatLimiter
	// watchWindow is how long the watcher gathers in-place writes before
	// it reloads (filewatch.Window); tests widen it.
	watchWindow time.Duration
}

// reloadStatus is what /-/status tells of the last reload, guarded by mu.
type reloadStatus struct {
	mu         sync.Mutex
	lastReload time.Time
	err        string
}

// New builds a Server for cfg, intercepting with ca. It does not listen.
// Its only config error is an upstream_ca it cannot use (Preflight reports
// the same first); a profile whose token source is not ready is served,
// its calls waiting for a token, and logged.
func New(cfg *config.Config, ca *localca.CA, opts Options) (*Server, error) {
	s := &Server{log: opts.Logger, getenv: opts.Getenv, now: opts.Now}
	s.ways.ca = ca
	if s.getenv == nil {
		s.getenv = os.Getenv
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.bg.ctx, s.bg.cancel = context.WithCancel(context.Background())
	s.reloads.readRetry = filewatch.NewRetry()
	s.reloads.watchWindow = filewatch.Window
	s.profiles = newProfiles(s.now, s.onGateEvent)
	s.metrics = metrics.New(s.profiles.live)
	s.refusals = newRefusals(s.metrics.Registry())
	s.human = newHumanSide(cfg, s.log, s.now, s.metrics)
	registerLogHealth(s.metrics.Registry(), opts.LogWriter)
	s.logWriter = opts.LogWriter
	if err := s.newReplicas(cfg); err != nil {
		s.human.close(context.Background(), s.log)
		return nil, err
	}
	if err := s.apply(cfg); err != nil && !isTokenErrors(err) {
		// A token source that is not ready is no reason not to serve:
		// apply logged it, and the profile's calls wait for a token.
		s.human.close(context.Background(), s.log)
		return nil, err
	}
	s.runReplicas()
	s.reloads.spareFD, _ = os.Open(os.DevNull) // none: taken at the first reload
	s.status.lastReload = s.now()
	if data, err := os.ReadFile(cfg.Path); err == nil {
		s.reloads.lastHash = sha256.Sum256(data)
	}

	errLog := log.New(debugWriter{s.log}, "", 0)
	s.ways.rp = &httputil.ReverseProxy{
		Rewrite:      s.rewriteOut,
		Transport:    roundTripperFunc(s.roundTrip),
		BufferPool:   &bufferPool{},
		ErrorHandler: s.proxyError,
		ErrorLog:     errLog,
	}
	s.ways.rp.ModifyResponse = stripUpstreamCORS // browser.go

	s.ways.gp = goproxy.NewProxyHttpServer()
	s.ways.gp.Logger = errLog
	s.ways.gp.KeepAcceptEncoding = true
	s.ways.gp.ConnectDial = nil
	s.ways.gp.Tr = &http.Transport{
		Proxy:               nil, // never chain to another proxy: no loops, no detours
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: s.refuseSelfDial}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
	}
	s.ways.gp.OnRequest().HandleConnectFunc(s.onConnect)
	s.ways.gp.OnResponse().DoFunc(closeForwardedIfChunked)

	s.ways.mitmLn = newConnListener()
	s.ways.mitmSrv = &http.Server{
		Handler:           http.HandlerFunc(s.serveIntercepted),
		ConnContext:       s.connContext,
		ConnState:         s.forgetTunnel,
		ReadHeaderTimeout: headerTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
	}
	s.parking.httpLn, s.parking.mitmLn = newConnListener(), newConnListener()
	s.ways.httpSrv = &http.Server{
		Handler:           s,
		ConnContext:       s.connContext,
		ReadHeaderTimeout: headerTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
	}
	return s, nil
}

// ServeHTTP routes a request that reached the listener: CONNECT to the
// forward proxy, absolute URIs to Notion (or another host, tunnelled or
// refused), origin-form paths to the admin endpoints or base-URL mode,
// after refusing web pages (browser.go). A
// CONNECT or absolute URI with a malformed target gets 400, one naming the
// proxy itself 403 (targets.go).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.resume(w, r) {
		return
	}
	cfg := s.runtime().cfg
	closeIfChunked(w, r)
	isProxyRequest := r.Method == http.MethodConnect || r.URL.IsAbs()
	isAdmin := !isProxyRequest && (strings.HasPrefix(r.URL.Path, "/-/") || r.URL.Path == "/metrics")
	if s.screenListener(w, r, isAdmin) {
		return // a web page refused, or an allowed origin's preflight answered (browser.go)
	}
	if cfg.ProxyAuth != "" && !isAdmin && !rewrite.CheckProxyAuth(r.Header, cfg.ProxyAuth) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="notion-proxy"`)
		writeNotionError(w, http.StatusProxyAuthRequired, codeAuthRequired,
			"notion-proxy needs Proxy-Authorization (proxy_auth is set)")
		return
	}
	switch {
	case r.Method == http.MethodConnect:
		if s.refuseBadConnect(w, r) {
			return
		}
		s.ways.gp.ServeHTTP(w, r)
	case r.URL.IsAbs():
		if !strings.EqualFold(hostOnly(r.URL.Host), rewrite.NotionHost) {
			if cfg.OtherHosts == config.OtherHostsDeny {
				writeNotionError(w, http.StatusForbidden, codeHostDenied, hostDeniedMsg)
				return
			}
			if s.refuseBadForward(w, r) {
				return
			}
			s.ways.gp.ServeHTTP(w, r)
			return
		}
		s.serveNotion(w, r)
	case isAdmin:
		s.serveAdmin(w, r)
	case !strings.HasPrefix(r.URL.Path, "/v1/"):
		// Notion's API is all under /v1/. Anything else sent to the base URL
		// is a mistake or a browser's own request (GET /favicon.ico when a
		// person opens a proxy URL): forwarded, it would carry the token,
		// and a 401 for it could pause the profile.
		writeNotionError(w, http.StatusNotFound, codeNotFound,
			"notion-proxy forwards Notion API paths (/v1/...) only, not "+r.URL.Path)
	default:
		s.serveNotion(w, r)
	}
}

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.learnSelf(ln.Addr())
	var others sync.WaitGroup
	for _, o := range []struct {
		srv *http.Server
		ln  *connListener
	}{{s.ways.mitmSrv, s.ways.mitmLn}, {s.ways.mitmSrv, s.parking.mitmLn}, {s.ways.httpSrv, s.parking.httpLn}} {
		others.Go(func() { _ = o.srv.Serve(o.ln) })
	}
	err := s.ways.httpSrv.Serve(ln)
	for _, l := range []*connListener{s.ways.mitmLn, s.parking.mitmLn, s.parking.httpLn} {
		l.Close()
	}
	others.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, answers every call waiting for a token with its
// 401, and waits (bounded by ctx) for calls in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	s.bg.cancel()
	for _, p := range s.profiles.all() {
		p.gate.Close(gate.ErrClosed)
		closeScheduler(p, gate.ErrClosed)
	}
	s.closeParking(ctx)
	err := s.ways.httpSrv.Shutdown(ctx)
	s.bg.wg.Wait()
	if err2 := s.ways.mitmSrv.Shutdown(ctx); err == nil {
		err = err2
	}
	s.runtime().upstream.CloseIdleConnections()
	s.closeReplicas()
	s.human.close(ctx, s.log)
	s.closeSpareFD()
	return err
}

func (s *Server) runtime() *runtimeConfig { return s.rt.Load() }

// apply swaps cfg in: the upstream transport (rebuilt only when
// upstream_ca changed), the profiles and their tokens. An upstream_ca it
// cannot use is an error, and then nothing is swapped. A token source that
// is not ready (an unset token_env, a missing, empty or malformed
// token_file) does not stop the swap: the profile keeps its token, or
// waits for one, the problem is logged per profile, and apply returns a
// *tokenErrors naming those profiles.
func (s *Server) apply(cfg *config.Config) error {
	old := s.runtime()
	rt := &runtimeConfig{cfg: cfg}
	if old != nil && old.cfg.UpstreamCA == cfg.UpstreamCA {
		rt.upstream = old.upstream
	} else {
		tr, err := newUpstreamTransport(cfg.UpstreamCA)
		if err != nil {
			return err
		}
		rt.upstream = tr
	}
	if old != nil && old.cfg.Pause.Timeout == cfg.Pause.Timeout {
		rt.pauseTimeoutSet, rt.endPauseTimeout = old.pauseTimeoutSet, old.endPauseTimeout
	} else {
		rt.pauseTimeoutSet, rt.endPauseTimeout = context.WithCancel(context.Background())
	}
	tokens := make(map[string]string, len(cfg.Profiles))
	var failed tokenErrors
	notReady := make(map[string]error)
	for _, p := range cfg.Profiles {
		tok, ok, err := tokensource.Resolve(p, s.getenv)
		if err != nil {
			failed.add(p.Name, err)
			notReady[p.Name] = err
			continue
		}
		if ok {
			tokens[p.Name] = tok
		}
	}
	changed := s.sourceChanges(tokens) // replicas.go
	s.applyMu.Lock()
	s.rt.Store(rt)
	s.human.notifier.SetConfig(notifyConfig(cfg))
	removed := s.profiles.update(cfg, tokens)
	s.applyMu.Unlock()
	s.shareSourceTokens(changed)
	if old != nil && old.pauseTimeoutSet != rt.pauseTimeoutSet {
		old.endPauseTimeout()
	}
	for _, p := range removed {
		// Its waiting calls cannot be sent with another profile's token
		// (another workspace, perhaps): they get their 401 now.
		waiting := p.gate.Status().Waiting
		p.gate.Close(gate.ErrProfileRemoved)
		closeScheduler(p, gate.ErrProfileRemoved)
		s.log.Warn().Str("profile", p.name).Int("waiting", waiting).
			Msg("profile removed from the config: its waiting calls get their 401")
	}
	for _, p := range s.profiles.all() {
		s.noteTokenSource(p, notReady[p.name])
		if p.gate.Status().Token == "" {
			s.startRefresh(p) // token_command and OAuth profiles get their first token
		}
	}
	if old != nil {
		if old.upstream != rt.upstream {
			old.upstream.CloseIdleConnections()
		}
		if old.cfg.Listen != cfg.Listen {
			s.log.Warn().Str("listen", cfg.Listen).Str("serving", old.cfg.Listen).
				Msg("listen changed: takes effect on restart")
		}
		if old.cfg.CADir != cfg.CADir {
			s.log.Warn().Str("ca_dir", cfg.CADir).Msg("ca_dir changed: takes effect on restart")
		}
	}
	if len(failed.errs) > 0 {
		return &failed
	}
	return nil
}

// newUpstreamTransport is the transport to Notion: TLS verified against the
// system roots plus caFile, never through another proxy, keep-alive pooled.
func newUpstreamTransport(caFile string) (*http.Transport, error) {
	roots, err := upstreamRoots(caFile)
	if err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		MaxConnsPerHost:       64, // a burst of replays waits for a connection, not a handshake each
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}, nil
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// debugWriter adapts the standard library's and goproxy's loggers to
// zerolog at debug level.
type debugWriter struct{ log zerolog.Logger }

func (d debugWriter) Write(p []byte) (int, error) {
	d.log.Debug().Msg(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// hostOnly strips a port from host[:port].
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/elazarl/goproxy"

	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Interception of CONNECT tunnels (docs/design.md#ways-in, docs/design.md#the-local-ca): goproxy answers CONNECT;
// a tunnel to the Notion host is hijacked, its TLS terminated with a leaf of
// the local CA, and the connection handed to a standard net/http server,
// whose requests go the same way as base-URL calls. Tunnels to other hosts
// are goproxy's, untouched.

// serveIntercepted serves the requests read from an intercepted TLS tunnel
// to the Notion host.
func (s *Server) serveIntercepted(w http.ResponseWriter, r *http.Request) {
	if s.resume(w, r) {
		return
	}
	r.URL.Scheme, r.URL.Host = "https", rewrite.NotionHost
	closeIfChunked(w, r)
	if s.screenIntercepted(w, r) {
		return // a web page refused, or an allowed origin's preflight answered (browser.go)
	}
	s.serveNotion(w, r)
}

// onConnect decides what a CONNECT gets: interception for the Notion host,
// a plain tunnel or a 403 for any other.
func (s *Server) onConnect(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
	if strings.EqualFold(hostOnly(host), rewrite.NotionHost) {
		return &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: s.intercept}, host
	}
	if s.runtime().cfg.OtherHosts == config.OtherHostsDeny {
		ctx.Resp = responseOf(notionError(http.StatusForbidden, codeHostDenied, hostDeniedMsg), ctx.Req)
		ctx.Resp.Close = true
		s.log.Info().Str("host", hostOnly(host)).Msg("CONNECT refused (other_hosts: deny)")
		return &goproxy.ConnectAction{Action: goproxy.ConnectReject}, host
	}
	s.log.Debug().Str("host", hostOnly(host)).Msg("CONNECT tunnelled")
	return goproxy.OkConnect, host
}

// intercept terminates TLS of a CONNECT to the Notion host with a leaf of
// the local CA and hands the connection to the interception server.
func (s *Server) intercept(connect *http.Request, client net.Conn, _ *goproxy.ProxyCtx) {
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		client.Close()
		return
	}
	tc := tls.Server(client, s.ways.ca.ServerTLSConfig(rewrite.NotionHost))
	s.ways.tunnelCreds.Store(tc, rewrite.IncomingCredentials(connect.Header))
	if !s.ways.mitmLn.push(tc) {
		s.ways.tunnelCreds.Delete(tc)
		client.Close()
	}
}

type tunnelCredsKey struct{}

// tunnelContext gives the requests of an intercepted tunnel the proxy
// credentials of its CONNECT.
func (s *Server) tunnelContext(ctx context.Context, c net.Conn) context.Context {
	if creds, ok := s.ways.tunnelCreds.Load(c); ok {
		return context.WithValue(ctx, tunnelCredsKey{}, creds)
	}
	return ctx
}

func (s *Server) forgetTunnel(c net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		s.ways.tunnelCreds.Delete(c)
	}
}

// connListener is a net.Listener fed by intercept: it lets one http.Server
// serve every intercepted TLS connection with the standard library's HTTP/1
// machinery (keep-alive, request contexts cancelled when the program
// disconnects, graceful shutdown).
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

// What a proxy request may target. A CONNECT must name host:port (RFC 9110
// §9.3.6) and an absolute URI a host; anything else gets 400
// "proxy_bad_request" before goproxy sees it, since its dialer would take
// an empty host for this machine and guess a missing port.
//
// A program can also ask the proxy to reach the proxy itself: CONNECT to its own
// host:port, or an absolute URI naming it. Served, that is a loop at best
// and, at worst, a way around the loopback-only rule of the admin endpoints
// (the proxy's own connection comes from 127.0.0.1). Such requests are
// refused with 403 "proxy_loop" before anything is dialed (refuseLoop), and
// the dialer of tunnels and plain forwards refuses the proxy's address too
// (refuseSelfDial), for names that resolve differently by dial time.

// refuseBadConnect answers 400 and reports true for a CONNECT whose target
// is malformed, and 403 for one whose target is this proxy. The connection
// is closed after either: bytes the program sent ahead for the tunnel are
// not a request.
func (s *Server) refuseBadConnect(w http.ResponseWriter, r *http.Request) bool {
	host, port, err := rewrite.ParseConnectTarget(r.URL.Host)
	if err != nil {
		w.Header().Set("Connection", "close")
		writeNotionError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return true
	}
	if strings.EqualFold(host, rewrite.NotionHost) {
		return false // intercepted, never dialed
	}
	return s.refuseLoop(w, r, host, port)
}

// refuseBadForward answers 400 and reports true for an absolute URI to
// another host that names no host, and 403 for one naming this proxy.
func (s *Server) refuseBadForward(w http.ResponseWriter, r *http.Request) bool {
	host := r.URL.Hostname()
	if host == "" {
		writeNotionError(w, http.StatusBadRequest, codeBadRequest,
			fmt.Sprintf("absolute URI %q names no host", r.URL.Redacted()))
		return true
	}
	port, ok := forwardPort(r.URL)
	if !ok {
		return false // the dial fails on its own
	}
	return s.refuseLoop(w, r, host, port)
}

// forwardPort is the port an absolute URI is forwarded to.
func forwardPort(u *url.URL) (uint16, bool) {
	p := u.Port()
	if p == "" {
		switch strings.ToLower(u.Scheme) {
		case "http":
			return 80, true
		case "https":
			return 443, true
		}
		return 0, false
	}
	n, err := strconv.ParseUint(p, 10, 16)
	return uint16(n), err == nil
}

// errSelfDial is returned by refuseSelfDial.
var errSelfDial = errors.New("notion-proxy will not connect to its own listener")

// learnSelf records the listener's address, which Serve learns from its
// net.Listener.
func (s *Server) learnSelf(addr net.Addr) {
	if ta, ok := addr.(*net.TCPAddr); ok {
		if ap := ta.AddrPort(); ap.IsValid() {
			s.ways.self.Store(&ap)
		}
	}
}

// isSelf reports whether a connection to ip:port would reach this proxy's
// listener: the port is the listener's, and ip is the listener's IP, an
// unspecified address (which the kernel takes for this machine), or, when
// the listener takes every address, any address of this machine.
func (s *Server) isSelf(ip netip.Addr, port uint16) bool {
	self := s.ways.self.Load()
	if self == nil || port != self.Port() {
		return false
	}
	ip = ip.Unmap()
	sip := self.Addr().Unmap()
	switch {
	case ip.IsUnspecified() || ip == sip:
		return true
	case sip.IsUnspecified():
		return isLocalIP(ip)
	}
	return false
}

// isLocalIP reports whether ip is a loopback address or one of this
// machine's interface addresses.
func isLocalIP(ip netip.Addr) bool {
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if local, ok := netip.AddrFromSlice(n.IP); ok && local.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// targetsSelf reports whether host:port names this proxy. A name is
// resolved only when port is the listener's, so other targets cost no
// lookup; a name that does not resolve is not this proxy (its dial fails).
func (s *Server) targetsSelf(ctx context.Context, host string, port uint16) bool {
	self := s.ways.self.Load()
	if self == nil || port != self.Port() {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return s.isSelf(ip, port)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if s.isSelf(ip, port) {
			return true
		}
	}
	return false
}

// refuseLoop answers 403 "proxy_loop" and reports true when host:port
// names this proxy.
func (s *Server) refuseLoop(w http.ResponseWriter, r *http.Request, host string, port uint16) bool {
	if !s.targetsSelf(r.Context(), host, port) {
		return false
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(port)))
	s.log.Warn().Str("method", r.Method).Str("target", target).Str("remote", r.RemoteAddr).
		Msg("request to the proxy's own address refused (loop)")
	w.Header().Set("Connection", "close")
	writeNotionError(w, http.StatusForbidden, codeLoop,
		fmt.Sprintf("notion-proxy will not connect to %s: that is notion-proxy itself", target))
	return true
}

// refuseSelfDial is the Control function of the dialer that tunnels and
// forwards to other hosts: it fails a connection whose resolved address is
// this proxy's listener.
func (s *Server) refuseSelfDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil
	}
	if s.isSelf(ap.Addr(), ap.Port()) {
		return fmt.Errorf("%w (%s)", errSelfDial, address)
	}
	return nil
}

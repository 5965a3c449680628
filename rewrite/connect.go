package rewrite

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// ErrBadConnectTarget is wrapped by every error of [ParseConnectTarget].
var ErrBadConnectTarget = errors.New("bad CONNECT target")

// ParseConnectTarget splits the request-target of a CONNECT into host and
// port. RFC 9110 §9.3.6 requires the authority form, host ":" port, and
// that is all it accepts: a non-empty host that is an IP literal (IPv6 in
// brackets, returned without them) or a DNS-style name (letters, digits,
// '-', '_', '.'), and a decimal port from 1 to 65535. A missing port is an
// error rather than a guess: every real client sends one, and defaulting
// (goproxy would pick 80) could tunnel a TLS client to the wrong service.
// An empty host is an error too, since a dialer would take it for the
// local machine.
func ParseConnectTarget(target string) (host string, port uint16, err error) {
	h, p, err := net.SplitHostPort(target)
	if err != nil {
		return "", 0, fmt.Errorf("%w %q: want host:port", ErrBadConnectTarget, target)
	}
	if h == "" {
		return "", 0, fmt.Errorf("%w %q: empty host", ErrBadConnectTarget, target)
	}
	if !validHost(h) {
		return "", 0, fmt.Errorf("%w %q: host is neither a name nor an IP address", ErrBadConnectTarget, target)
	}
	n, ok := parsePort(p)
	if !ok {
		return "", 0, fmt.Errorf("%w %q: port must be a number from 1 to 65535", ErrBadConnectTarget, target)
	}
	return h, n, nil
}

// validHost reports whether h is an IP address or a DNS-style name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// parsePort parses a decimal port from 1 to 65535 (no sign, no spaces).
func parsePort(p string) (uint16, bool) {
	if p == "" || len(p) > 5 {
		return 0, false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint16(n), true
}

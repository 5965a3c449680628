package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestIsSelf(t *testing.T) {
	tests := []struct {
		name, listen, target string
		want                 bool
	}{
		{"the listen address is self", "127.0.0.1:8787", "127.0.0.1:8787", true},
		{"another port is not", "127.0.0.1:8787", "127.0.0.1:8788", false},
		{"another loopback address is not", "127.0.0.1:8787", "127.0.0.2:8787", false},
		{"an unspecified address reaches the listener", "127.0.0.1:8787", "0.0.0.0:8787", true},
		{"the IPv4-mapped listen address is self", "127.0.0.1:8787", "[::ffff:127.0.0.1]:8787", true},
		{"any loopback address reaches a listener on all addresses", "0.0.0.0:8787", "127.0.0.5:8787", true},
		{"IPv6 loopback reaches a dual-stack listener", "[::]:8787", "[::1]:8787", true},
		{"a remote address does not reach a listener on all addresses", "0.0.0.0:8787", "192.0.2.1:8787", false},
		{"a remote address on another port is not", "0.0.0.0:8787", "192.0.2.1:443", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{}
			s.learnSelf(net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tt.listen)))
			target := netip.MustParseAddrPort(tt.target)
			if got := s.isSelf(target.Addr(), target.Port()); got != tt.want {
				t.Errorf("listening on %s, isSelf(%s) = %v, want %v", tt.listen, tt.target, got, tt.want)
			}
			err := s.refuseSelfDial("tcp", tt.target, nil)
			if got := errors.Is(err, errSelfDial); got != tt.want {
				t.Errorf("listening on %s, refuseSelfDial(%s) = %v", tt.listen, tt.target, err)
			}
		})
	}
}

func TestTargetsSelfResolvesNamesOnlyOnItsPort(t *testing.T) {
	s := &Server{}
	s.learnSelf(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8787})
	ctx := context.Background()
	if !s.targetsSelf(ctx, "localhost", 8787) {
		t.Error("localhost on the listener's port is not self")
	}
	if s.targetsSelf(ctx, "localhost", 8788) {
		t.Error("localhost on another port is self")
	}
	if (&Server{}).targetsSelf(ctx, "127.0.0.1", 8787) {
		t.Error("a server that is not serving yet has a self")
	}
}

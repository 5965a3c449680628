package rewrite_test

import (
	"errors"
	"testing"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func TestParseConnectTarget(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		wantHost string
		wantPort uint16
		wantErr  bool
	}{
		{"the Notion host with its port is accepted", "api.notion.com:443", "api.notion.com", 443, false},
		{"an IPv4 literal is accepted", "127.0.0.1:8787", "127.0.0.1", 8787, false},
		{"an IPv6 literal comes back without brackets", "[::1]:443", "::1", 443, false},
		{"an IPv4-mapped IPv6 literal is accepted", "[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80, false},
		{"a name with an underscore is accepted", "my_host.internal:8443", "my_host.internal", 8443, false},
		{"the highest port is accepted", "example.com:65535", "example.com", 65535, false},
		{"a missing port is refused, never guessed", "api.notion.com", "", 0, true},
		{"an empty port is refused", "api.notion.com:", "", 0, true},
		{"an empty host is refused", ":443", "", 0, true},
		{"an empty target is refused", "", "", 0, true},
		{"port 0 is refused", "example.com:0", "", 0, true},
		{"a port above 65535 is refused", "example.com:65536", "", 0, true},
		{"a huge port is refused", "example.com:99999999999", "", 0, true},
		{"a named port is refused", "example.com:https", "", 0, true},
		{"a signed port is refused", "example.com:+443", "", 0, true},
		{"an unclosed IPv6 bracket is refused", "[::1:443", "", 0, true},
		{"an unbracketed IPv6 literal is refused", "::1:443", "", 0, true},
		{"a host with a space is refused", "a b:443", "", 0, true},
		{"a host with a slash is refused", "a/b:443", "", 0, true},
		{"a URL is refused", "http://api.notion.com:443", "", 0, true},
		{"a host with userinfo is refused", "user@api.notion.com:443", "", 0, true},
		{"a host with a control character is refused", "a\x00b:443", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port, err := rewrite.ParseConnectTarget(tt.target)
			if tt.wantErr {
				if !errors.Is(err, rewrite.ErrBadConnectTarget) {
					t.Errorf("ParseConnectTarget(%q) = %q, %d, %v; want ErrBadConnectTarget", tt.target, host, port, err)
				}
				return
			}
			if err != nil || host != tt.wantHost || port != tt.wantPort {
				t.Errorf("ParseConnectTarget(%q) = %q, %d, %v; want %q, %d", tt.target, host, port, err, tt.wantHost, tt.wantPort)
			}
		})
	}
}

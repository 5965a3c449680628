package config

import (
	"slices"
	"testing"
)

func TestParseBrowserSettings(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantHosts []string
		wantOrigs []string
	}{
		{"nothing set allows no extra host and no origin", "token: x\n", nil, nil},
		{"host names are kept lowercase", "allowed_hosts: [Notion-Proxy.Internal, my_host]\n", []string{"notion-proxy.internal", "my_host"}, nil},
		{"IP addresses are kept in canonical form", "allowed_hosts: ['10.0.0.7', 'FD00:0::7', '[::2]']\n", []string{"10.0.0.7", "fd00::7", "::2"}, nil},
		{"an origin is kept as browsers send it", "cors:\n  allowed_origins: [http://localhost:5173, HTTPS://App.Example]\n", nil, []string{"http://localhost:5173", "https://app.example"}},
		{"a default port is dropped", "cors: {allowed_origins: ['http://localhost:80', 'https://a.example:443', 'https://b.example:80']}\n", nil,
			[]string{"http://localhost", "https://a.example", "https://b.example:80"}},
		{"an IPv6 origin keeps its brackets", "cors: {allowed_origins: ['http://[::1]:3000']}\n", nil, []string{"http://[::1]:3000"}},
		{"an empty cors is no origin", "cors:\n", nil, nil},
		{"an origin from the environment is expanded", "cors: {allowed_origins: ['${APP}']}\n", nil, []string{"http://127.0.0.1:3000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.src, map[string]string{"APP": "http://127.0.0.1:3000"})
			if !slices.Equal(cfg.AllowedHosts, tt.wantHosts) {
				t.Errorf("AllowedHosts = %q, want %q", cfg.AllowedHosts, tt.wantHosts)
			}
			if !slices.Equal(cfg.CORS.AllowedOrigins, tt.wantOrigs) {
				t.Errorf("CORS.AllowedOrigins = %q, want %q", cfg.CORS.AllowedOrigins, tt.wantOrigs)
			}
		})
	}
}

func TestParseBrowserSettingErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		{"allowed_hosts as a single value is an error", "allowed_hosts: localhost\n", 1, "allowed_hosts must be a list, not a single value"},
		{"a host with a port is an error", "token: x\nallowed_hosts:\n  - a.internal\n  - b.internal:8787\n", 4, "allowed_hosts[1]: \"b.internal:8787\": write the host without a port"},
		{"a host with a scheme is an error", "allowed_hosts: ['http://a.internal']\n", 1, "without a scheme"},
		{"a host with a path is an error", "allowed_hosts: ['a.internal/x']\n", 1, "without a path"},
		{"a wildcard host is an error", "allowed_hosts: ['*.internal']\n", 1, "wildcards are not supported"},
		{"an empty host is an error", "allowed_hosts: ['']\n", 1, "allowed_hosts[0]: is empty"},
		{"a host with a space is an error", "allowed_hosts: ['a b']\n", 1, "is not a host name or IP address"},
		{"a host with an empty label is an error", "allowed_hosts: ['a..b']\n", 1, "is not a host name or IP address"},
		{"an unknown key in cors is an error", "cors:\n  allowed_origin: [x]\n", 2, `unknown key "allowed_origin" in cors`},
		{"cors as a list is an error", "cors: [http://localhost]\n", 1, "cors must be a mapping"},
		{"an origin with a path is an error", "cors:\n  allowed_origins:\n    - http://localhost:5173/app\n", 3, "no path, trailing slash"},
		{"an origin with a trailing slash is an error", "cors: {allowed_origins: ['http://localhost:5173/']}\n", 1, "no path, trailing slash"},
		{"an origin with a query is an error", "cors: {allowed_origins: ['http://localhost?x']}\n", 1, "no path, trailing slash, query"},
		{"a wildcard origin is an error", "cors: {allowed_origins: ['*']}\n", 1, "wildcards are not allowed"},
		{"a wildcard subdomain origin is an error", "cors: {allowed_origins: ['https://*.example']}\n", 1, "wildcards are not allowed"},
		{"the null origin is an error", "cors: {allowed_origins: ['null']}\n", 1, `"null" is not allowed`},
		{"an origin without a scheme is an error", "cors: {allowed_origins: ['localhost:5173']}\n", 1, "is not an origin scheme://host[:port]"},
		{"a bare host is an error", "cors: {allowed_origins: ['localhost']}\n", 1, "the scheme must be http or https"},
		{"another scheme is an error", "cors: {allowed_origins: ['file://x']}\n", 1, "the scheme must be http or https"},
		{"an origin with a user is an error", "cors: {allowed_origins: ['http://u@localhost']}\n", 1, "no user name"},
		{"an origin without a host is an error", "cors: {allowed_origins: ['http://:80']}\n", 1, "names no host"},
		{"an origin with a bad port is an error", "cors: {allowed_origins: ['http://localhost:99999']}\n", 1, "port must be a number"},
		{"an origin with an empty port is an error", "cors: {allowed_origins: ['http://localhost:']}\n", 1, "empty port"},
		{"an empty origin is an error", "cors: {allowed_origins: ['']}\n", 1, "cors.allowed_origins[0]: is empty"},
		{"allowed_origins as a single value is an error", "cors: {allowed_origins: http://localhost}\n", 1, "cors.allowed_origins must be a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantParseError(t, tt.src, nil, tt.line, tt.msg)
		})
	}
}

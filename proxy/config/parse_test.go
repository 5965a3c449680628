package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	cfg := mustParse(t, "listen: 127.0.0.1:8787\n", nil)
	dir := filepath.Dir(testPath(t))
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Path is the absolute config path", cfg.Path, testPath(t)},
		{"listen defaults to 127.0.0.1:8787", cfg.Listen, "127.0.0.1:8787"},
		{"upstream defaults to https://api.notion.com", cfg.Upstream.String(), "https://api.notion.com"},
		{"upstream_ca defaults to none", cfg.UpstreamCA, ""},
		{"ca_dir defaults to the config file's directory", cfg.CADir, dir},
		{"notion_version defaults to 2022-06-28", cfg.NotionVersion, "2022-06-28"},
		{"other_hosts defaults to tunnel", cfg.OtherHosts, OtherHostsTunnel},
		{"proxy_auth defaults to off", cfg.ProxyAuth, ""},
		{"admin_token defaults to off", cfg.AdminToken, ""},
		{"log.level defaults to info", cfg.Log.Level, "info"},
		{"log.format defaults to auto", cfg.Log.Format, "auto"},
		{"pause.timeout defaults to 10m", cfg.Pause.Timeout, 10 * time.Minute},
		{"pause.max_queued defaults to 10000", cfg.Pause.MaxQueued, 10000},
		{"max_body_bytes defaults to 50 MiB", cfg.MaxBodyBytes, int64(52428800)},
		{"retry.rate_limited defaults to true", cfg.Retry.RateLimited, true},
		{"retry.max_wait defaults to 60s", cfg.Retry.MaxWait, 60 * time.Second},
		{"retry.transient defaults to true", cfg.Retry.Transient, true},
		{"rate_limit.rps defaults to off", cfg.RateLimit.RPS, 0.0},
		{"rate_limit.burst defaults to 0", cfg.RateLimit.Burst, 0},
		{"a config without profiles has one profile", len(cfg.Profiles), 1},
		{"that profile is named default", cfg.Profiles[0].Name, "default"},
		{"that profile has no token source yet", cfg.Profiles[0].HasTokenSource(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestParseEmptyValuesMeanDefaults(t *testing.T) {
	src := lines(
		`listen: ""`,
		`upstream:`,
		`ca_dir: ""`,
		`notion_version: ${UNSET}`,
		`other_hosts: ~`,
		`log:`,
		`pause: {timeout: "", max_queued: ""}`,
		`retry: {}`,
		`rate_limit:`,
	)
	got := mustParse(t, src, nil)
	want := mustParse(t, "listen: 127.0.0.1:8787\n", nil)
	if len(got.Unset) != 1 || got.Unset[0].Name != "UNSET" {
		t.Errorf("Unset = %+v, want the one ${UNSET}", got.Unset)
	}
	got.Unset = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("empty values did not give the defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseSettings(t *testing.T) {
	src := lines(
		`listen: 0.0.0.0:9000`,
		`upstream: http://127.0.0.1:4010/`,
		`upstream_ca: certs/fake-notion.pem`,
		`ca_dir: /var/lib/notion-proxy`,
		`notion_version: 2025-09-03`,
		`other_hosts: deny`,
		`proxy_auth: "alice:s3cret"`,
		`admin_token: adm1n`,
		`log: {level: debug, format: json}`,
		`pause:`,
		`  timeout: 90s`,
		`  max_queued: 5`,
		`max_body_bytes: 1024`,
		`retry:`,
		`  rate_limited: false`,
		`  max_wait: 2m30s`,
		`  transient: FALSE`,
		`rate_limit: {rps: 2.5, burst: 7}`,
		`profiles:`,
		`  - name: work`,
		`    token: secret_abc`,
		`    match: [placeholder, alice]`,
		`    workspace: acme`,
		`  - name: bot`,
		`    token_file: bot.token`,
		`  - name: env`,
		`    token_env: NOTION_TOKEN`,
		`  - name: vault`,
		`    token_command: ["op", "read", "op://vault/notion/token"]`,
		`  - name: public`,
		`    oauth:`,
		`      client_id: cid`,
		`      client_secret: csecret`,
		`      refresh_token: rtok`,
		`      access_token: atok`,
	)
	cfg := mustParse(t, src, nil)
	dir := filepath.Dir(testPath(t))
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"listen is kept", cfg.Listen, "0.0.0.0:9000"},
		{"upstream loses its trailing slash", cfg.Upstream.String(), "http://127.0.0.1:4010"},
		{"a relative upstream_ca is beside the config", cfg.UpstreamCA, filepath.Join(dir, "certs", "fake-notion.pem")},
		{"an absolute ca_dir is kept", cfg.CADir, filepath.Clean(filepath.FromSlash("/var/lib/notion-proxy"))},
		{"an unquoted date-like notion_version stays text", cfg.NotionVersion, "2025-09-03"},
		{"other_hosts deny is kept", cfg.OtherHosts, OtherHostsDeny},
		{"proxy_auth is kept", cfg.ProxyAuth, "alice:s3cret"},
		{"admin_token is kept", cfg.AdminToken, "adm1n"},
		{"log is kept", cfg.Log, Log{Level: "debug", Format: "json"}},
		{"pause is kept", cfg.Pause, Pause{Timeout: 90 * time.Second, MaxQueued: 5}},
		{"max_body_bytes is kept", cfg.MaxBodyBytes, int64(1024)},
		{"retry is kept", cfg.Retry, Retry{RateLimited: false, MaxWait: 150 * time.Second, Transient: false}},
		{"rate_limit is kept", cfg.RateLimit, RateLimit{RPS: 2.5, Burst: 7}},
		{"profiles keep their order", len(cfg.Profiles), 5},
		{"an inline token is kept", cfg.Profiles[0].Token, "secret_abc"},
		{"match values are kept", cfg.Profiles[0].Match, []string{"placeholder", "alice"}},
		{"a workspace label is kept", cfg.Profiles[0].Workspace, "acme"},
		{"no workspace label is empty", cfg.Profiles[1].Workspace, ""},
		{"a profile's line is its first key's line", cfg.Profiles[0].Line, 20},
		{"a relative token_file is beside the config", cfg.Profiles[1].TokenFile, filepath.Join(dir, "bot.token")},
		{"token_env is the variable's name", cfg.Profiles[2].TokenEnv, "NOTION_TOKEN"},
		{"token_command is the argv", cfg.Profiles[3].TokenCommand, []string{"op", "read", "op://vault/notion/token"}},
		{"oauth credentials are kept", *cfg.Profiles[4].OAuth, OAuth{ClientID: "cid", ClientSecret: "csecret", RefreshToken: "rtok", AccessToken: "atok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestParseListenAndUpstream(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"an IPv6 loopback listen needs no proxy_auth", "listen: '[::1]:8787'", "[::1]:8787"},
		{"localhost needs no proxy_auth", "listen: localhost:0", "localhost:0"},
		{"any 127/8 address is loopback", "listen: 127.5.6.7:1", "127.5.6.7:1"},
		{"a public listen with proxy_auth is allowed", "listen: 192.0.2.1:8787\nproxy_auth: u:p", "192.0.2.1:8787"},
		{"all interfaces with proxy_auth is allowed", "listen: ':8787'\nproxy_auth: 'u:'", ":8787"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.src+"\n", nil).Listen; got != tt.want {
				t.Errorf("Listen = %q, want %q", got, tt.want)
			}
		})
	}
	for _, u := range []string{"https://api.notion.com", "https://api.notion.com/", "http://localhost:4010", "HTTPS://Fake.Test:8443/"} {
		t.Run("upstream "+u+" is accepted without a trailing slash", func(t *testing.T) {
			got := mustParse(t, "upstream: "+u+"\n", nil).Upstream
			if got.Path != "" || strings.HasSuffix(got.String(), "/") || got.Host == "" {
				t.Errorf("Upstream = %q (path %q)", got, got.Path)
			}
		})
	}
}

func TestParseRateLimitBurst(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantBurst int
	}{
		{"burst defaults to rps rounded up", "rate_limit: {rps: 2.5}", 3},
		{"burst defaults to at least 1", "rate_limit: {rps: 0.2}", 1},
		{"a burst of 0 with rps set takes the default", "rate_limit: {rps: 5, burst: 0}", 5},
		{"an explicit burst is kept", "rate_limit: {rps: 5, burst: 2}", 2},
		{"burst is kept as given when rps is off", "rate_limit: {rps: 0, burst: 4}", 4},
		{"a huge rps gives a bounded burst", "rate_limit: {rps: 1e300}", 1<<31 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.src+"\n", nil).RateLimit.Burst; got != tt.wantBurst {
				t.Errorf("Burst = %d, want %d", got, tt.wantBurst)
			}
		})
	}
}

func TestParseEnvExpansion(t *testing.T) {
	env := map[string]string{
		"NOTION_TOKEN": "ntn_fromenv",
		"PORT":         "9999",
		"QUEUE":        "42",
		"SECRET":       "cs",
		"WEIRD":        "${NOTION_TOKEN}",
	}
	t.Run("a token can come from ${NAME}", func(t *testing.T) {
		cfg := mustParse(t, "token: ${NOTION_TOKEN}\n", env)
		if got := cfg.Profiles[0].Token; got != "ntn_fromenv" {
			t.Errorf("Token = %q", got)
		}
	})
	t.Run("references expand inside a value", func(t *testing.T) {
		if got := mustParse(t, "listen: 127.0.0.1:${PORT}\n", env).Listen; got != "127.0.0.1:9999" {
			t.Errorf("Listen = %q", got)
		}
	})
	t.Run("numbers can come from the environment", func(t *testing.T) {
		if got := mustParse(t, "pause: {max_queued: '${QUEUE}'}\n", env).Pause.MaxQueued; got != 42 {
			t.Errorf("MaxQueued = %d", got)
		}
	})
	t.Run("list items and nested values are expanded", func(t *testing.T) {
		cfg := mustParse(t, lines(
			"profiles:",
			"  - name: a",
			"    token_command: [echo, '${NOTION_TOKEN}']",
			"  - name: b",
			"    oauth: {client_id: id, client_secret: '${SECRET}', refresh_token: r}",
		), env)
		if got := cfg.Profiles[0].TokenCommand[1]; got != "ntn_fromenv" {
			t.Errorf("TokenCommand[1] = %q", got)
		}
		if got := cfg.Profiles[1].OAuth.ClientSecret; got != "cs" {
			t.Errorf("ClientSecret = %q", got)
		}
	})
	t.Run("an unset variable makes a setting take its default", func(t *testing.T) {
		if got := mustParse(t, "listen: ${NOPE}\n", env).Listen; got != "127.0.0.1:8787" {
			t.Errorf("Listen = %q", got)
		}
	})
	t.Run("a variable's value is not expanded again", func(t *testing.T) {
		if got := mustParse(t, "token: ${WEIRD}\n", env).Profiles[0].Token; got != "${NOTION_TOKEN}" {
			t.Errorf("Token = %q", got)
		}
	})
	t.Run("$${ writes a literal ${", func(t *testing.T) {
		if got := mustParse(t, "token: $${NOTION_TOKEN}\n", env).Profiles[0].Token; got != "${NOTION_TOKEN}" {
			t.Errorf("Token = %q", got)
		}
	})
	t.Run("keys are not expanded", func(t *testing.T) {
		e := parseError(t, "${KEY}: x\n", map[string]string{"KEY": "listen"})
		if !strings.Contains(e.Msg, `unknown key "${KEY}"`) {
			t.Errorf("Msg = %q", e.Msg)
		}
	})
	t.Run("token_env names a variable and is not read at parse time", func(t *testing.T) {
		cfg := mustParse(t, "token_env: NOT_SET_ANYWHERE\n", env)
		if got := cfg.Profiles[0].TokenEnv; got != "NOT_SET_ANYWHERE" {
			t.Errorf("TokenEnv = %q", got)
		}
	})
	t.Run("a nil getenv treats every variable as unset", func(t *testing.T) {
		_, err := Parse([]byte("token: ${NOTION_TOKEN}\n"), "", nil)
		var ce *Error
		if !errors.As(err, &ce) || ce.Msg != "token is empty: ${NOTION_TOKEN} is not set" {
			t.Errorf("err = %v, want token is empty: ${NOTION_TOKEN} is not set", err)
		}
	})
}

func TestParseShorthand(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(p Profile) bool
	}{
		{"a top-level token is one default profile", "token: ntn_abc", func(p Profile) bool { return p.Token == "ntn_abc" }},
		{"a top-level token_env is one default profile", "token_env: NOTION_TOKEN", func(p Profile) bool { return p.TokenEnv == "NOTION_TOKEN" }},
		{"a top-level token_file is one default profile", "token_file: /run/secrets/notion", func(p Profile) bool {
			return p.TokenFile == filepath.Clean(filepath.FromSlash("/run/secrets/notion"))
		}},
		{"a top-level token_command is one default profile", "token_command: [pass, notion]", func(p Profile) bool {
			return reflect.DeepEqual(p.TokenCommand, []string{"pass", "notion"})
		}},
		{"a top-level oauth is one default profile", "oauth: {client_id: a, client_secret: b, refresh_token: c}", func(p Profile) bool {
			return p.OAuth != nil && p.OAuth.RefreshToken == "c" && p.OAuth.AccessToken == ""
		}},
		{"a shorthand token may be any opaque string", "token: secret_Zz9-x.y", func(p Profile) bool { return p.Token == "secret_Zz9-x.y" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, "listen: 127.0.0.1:8787\n"+tt.src+"\n", nil)
			if len(cfg.Profiles) != 1 {
				t.Fatalf("got %d profiles, want 1", len(cfg.Profiles))
			}
			p := cfg.Profiles[0]
			if p.Name != "default" || p.Line != 2 || !tt.check(p) {
				t.Errorf("profile = %+v", p)
			}
		})
	}
}

func TestParseRelativePaths(t *testing.T) {
	src := lines(
		"ca_dir: ca",
		"upstream_ca: ../shared/./upstream.pem",
		"token_file: secrets/notion.token",
	)
	t.Run("relative paths are resolved against the config file's directory", func(t *testing.T) {
		dir := filepath.Dir(testPath(t))
		cfg := mustParse(t, src, nil)
		want := []string{filepath.Join(dir, "ca"), filepath.Join(filepath.Dir(dir), "shared", "upstream.pem"), filepath.Join(dir, "secrets", "notion.token")}
		got := []string{cfg.CADir, cfg.UpstreamCA, cfg.Profiles[0].TokenFile}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("a relative config path is made absolute", func(t *testing.T) {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse([]byte(src), filepath.Join("conf", "np.yaml"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(wd, "conf", "np.yaml"); cfg.Path != want {
			t.Errorf("Path = %q, want %q", cfg.Path, want)
		}
		if want := filepath.Join(wd, "conf", "ca"); cfg.CADir != want {
			t.Errorf("CADir = %q, want %q", cfg.CADir, want)
		}
	})
	t.Run("without a path, paths are relative to the working directory", func(t *testing.T) {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse([]byte("listen: 127.0.0.1:1\n"), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Path != "" || cfg.CADir != wd {
			t.Errorf("Path = %q, CADir = %q; want \"\", %q", cfg.Path, cfg.CADir, wd)
		}
	})
}

package integration_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
	"github.com/notion-proxy/notion-proxy/proxy/config"
)

// tokenSeen makes one base-URL call and returns the token the fake saw.
func tokenSeen(t *testing.T, p *proc, fake *fakenotion.Server) string {
	t.Helper()
	code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	reqs := fake.Requests()
	return reqs[len(reqs)-1].Token
}

func TestTokenFileIsWatchedLikeTheConfig(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB, tokC)
	t.Run("a secret replaced by rename", func(t *testing.T) {
		dir := t.TempDir()
		secret := filepath.Join(dir, "secrets", "notion")
		if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(secret, []byte(tokA+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "notion-proxy.yaml")
		if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+"token_file: secrets/notion\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := startProxyAt(t, dir, cfg)
		if tokenSeen(t, p, fake) != tokA {
			t.Fatal("token_file not used")
		}
		writeAtomic(t, secret, []byte(tokB+"\n"))
		testwait.Until(t, time.Second, "the rotated secret", func() bool { return tokenSeen(t, p, fake) == tokB })
		writeAtomic(t, secret, []byte("  \n")) // an empty secret is ignored
		time.Sleep(200 * time.Millisecond)
		if tokenSeen(t, p, fake) != tokB {
			t.Fatal("an empty token_file replaced the token")
		}
		p.stop()
		secretsIn(t, p, tokA, tokB)
	})
	t.Run("a Kubernetes secret mount's ..data swap", func(t *testing.T) {
		dir := t.TempDir()
		mount := filepath.Join(dir, "mount")
		if err := os.Mkdir(mount, 0o755); err != nil {
			t.Fatal(err)
		}
		swap := func(version, tok string) {
			v := filepath.Join(mount, "..v"+version)
			if err := os.Mkdir(v, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(v, "token"), []byte(tok), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Base(v), filepath.Join(mount, "..data_tmp")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(mount, "..data_tmp"), filepath.Join(mount, "..data")); err != nil {
				t.Fatal(err)
			}
		}
		swap("1", tokA)
		if err := os.Symlink("..data/token", filepath.Join(mount, "token")); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "notion-proxy.yaml")
		if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+
			"token_file: "+filepath.Join(mount, "token")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := startProxyAt(t, dir, cfg)
		if tokenSeen(t, p, fake) != tokA {
			t.Fatal("token_file not used")
		}
		swap("2", tokC)
		testwait.Until(t, time.Second, "the swapped secret", func() bool { return tokenSeen(t, p, fake) == tokC })
	})
}

func TestTokenEnvIsReadAtStart(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+"token_env: TEST_NOTION_TOKEN\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyEnv(t, dir, cfg, []string{"TEST_NOTION_TOKEN=" + tokA})
	if tokenSeen(t, p, fake) != tokA {
		t.Fatal("token_env not used")
	}
	p.stop()
	secretsIn(t, p, tokA)
}

func TestTokenCommandRunsAgainWhenTheTokenIsRejected(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	script := filepath.Join(dir, "get-token.sh")
	counter := filepath.Join(dir, "runs")
	// First run prints tokA, every later run tokB; it also writes to stderr.
	if err := os.WriteFile(script, []byte(fmt.Sprintf(`#!/bin/sh
echo run >> %q
echo "fetching token from the vault" >&2
if [ "$(wc -l < %q)" -le 1 ]; then echo %s; else echo %s; fi
`, counter, counter, tokA, tokB)), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+
		"token_command: [\"/bin/sh\", \""+script+"\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, cfg)
	if tokenSeen(t, p, fake) != tokA {
		t.Fatal("the command's first token was not used")
	}
	fake.Revoke(tokA)
	fake.AddToken(tokB)
	if got := tokenSeen(t, p, fake); got != tokB {
		t.Fatal("after the rejection the call did not go out with the command's new token")
	}
	if p.countLogs("token_command wrote to stderr") == 0 {
		t.Error("the command's stderr was not logged")
	}
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

func TestOAuthRefreshIsSingleFlightAndPersisted(t *testing.T) {
	fake, fakeCA := startOAuthFake(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "notion-proxy.yaml")
	content := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) +
		"# the public integration's credentials\n" +
		"oauth:\n  client_id: client-1\n  client_secret: client-secret-1\n" +
		"  refresh_token: refresh-token-0001 # rotated by the proxy\n  access_token: stale-access-token-0001\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, cfg)

	const callers = 50
	getConcurrently(t, p, callers)
	if n := fake.Refreshes(); n != 1 {
		t.Fatalf("%d refreshes for %d waiting calls, want exactly 1", n, callers)
	}
	data, _ := os.ReadFile(cfg)
	parsed, err := config.Parse(data, cfg, os.Getenv)
	if err != nil {
		t.Fatalf("config after refresh: %v", err)
	}
	o := parsed.Profiles[0].OAuth
	if o.RefreshToken == "refresh-token-0001" || o.AccessToken == "stale-access-token-0001" || o.AccessToken == "" {
		t.Fatal("the refreshed tokens were not written into the config")
	}
	if !strings.Contains(string(data), "# the public integration's credentials") || !strings.Contains(string(data), "# rotated by the proxy") {
		t.Errorf("comments lost:\n%s", data)
	}

	// The access token is revoked later: the rotated refresh token (the
	// fake rejects the old one) must be the one used.
	fake.Revoke(o.AccessToken)
	if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
		t.Fatalf("after the second revocation: %d %s", code, body)
	}
	if n := fake.Refreshes(); n != 2 {
		t.Fatalf("%d refreshes, want 2", n)
	}
	p.stop()
	secretsIn(t, p, o.AccessToken, o.RefreshToken, "client-secret-1", "refresh-token-0001")
}

func TestOAuthInvalidGrantNeedsAHuman(t *testing.T) {
	fake, fakeCA := startFake(t)
	fake.EnableOAuth("client-1", "client-secret-1", "the-valid-refresh-token")
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"pause: {timeout: 2s}\n"+
		"oauth: {client_id: client-1, client_secret: client-secret-1, refresh_token: a-dead-refresh-token}\n")
	code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
	if code != 401 || !strings.Contains(string(body), "unauthorized") {
		t.Fatalf("got %d %s, want the 401 after pause.timeout", code, body)
	}
	p.waitLog("re-authorise", 5*time.Second)
	if st := p.status(t); st.Profiles[0].State != "paused" {
		t.Errorf("state %s", st.Profiles[0].State)
	}
}

package integration_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

const (
	tokA = "ntn_integration_token_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1a2b"
	tokB = "secret_integration_token_BBBBBBBBBBBBBBBBBBBBBBBBBBBBB9z8y"
	tokC = "ntn_integration_token_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC7c6d"
)

// secretsIn fails the test if any log line of p holds one of the tokens.
func secretsIn(t *testing.T, p *proc, tokens ...string) {
	t.Helper()
	for _, line := range p.allLines() {
		for _, tok := range tokens {
			if strings.Contains(line, tok) {
				t.Errorf("a log line holds a token: %s", line)
			}
		}
	}
}

func TestEveryWayInCarriesTheCurrentToken(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	for _, m := range modes {
		t.Run(m.name+" replaces a stale token and fills Notion-Version", func(t *testing.T) {
			fake.Reset()
			code, body, hdr := do(t, m.client(p), "GET", m.url(p, "/v1/users/me?x=1"), nil,
				map[string]string{"Authorization": "Bearer placeholder", "Proxy-Authorization": "Basic dTpw"})
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if hdr.Get("X-Notion-Request-Id") == "" {
				t.Error("Notion's request id header did not reach the program")
			}
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("fake saw %d requests", len(reqs))
			}
			r := reqs[0]
			if r.Token != tokA || r.NotionVersion != "2022-06-28" || r.RawQuery != "x=1" || r.Path != "/v1/users/me" {
				t.Errorf("fake saw token ok=%v version %q query %q path %q", r.Token == tokA, r.NotionVersion, r.RawQuery, r.Path)
			}
			if r.Header.Get("Proxy-Authorization") != "" {
				t.Error("Proxy-Authorization reached Notion")
			}
		})
		t.Run(m.name+" keeps the program's Notion-Version and body", func(t *testing.T) {
			fake.Reset()
			body := []byte(`{"parent":{"page_id":"59833787-2cf9-4fdf-8782-e53db20768a5"},"properties":{}}`)
			code, resp, _ := do(t, m.client(p), "POST", m.url(p, "/v1/pages"), body,
				map[string]string{"Notion-Version": "2025-09-03", "Content-Type": "application/json"})
			if code != 200 {
				t.Fatalf("status %d: %s", code, resp)
			}
			r := fake.Requests()[0]
			if r.NotionVersion != "2025-09-03" || r.BodyLen != len(body) {
				t.Errorf("fake saw version %q, body %d bytes", r.NotionVersion, r.BodyLen)
			}
		})
	}
	t.Run("Notion's OAuth endpoints keep the program's Basic credentials", func(t *testing.T) {
		fake.EnableOAuth("client-id", "client-secret", "refresh-1")
		fake.Reset()
		code, body, _ := do(t, p.baseClient(), "POST", p.baseURL()+"/v1/oauth/token",
			[]byte(`{"grant_type":"refresh_token","refresh_token":"refresh-1"}`),
			map[string]string{"Authorization": "Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ=", "Content-Type": "application/json"})
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		if got := fake.Requests()[0].Authorization; got != "Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ=" {
			t.Errorf("fake saw Authorization %q", got)
		}
	})
	p.stop()
	secretsIn(t, p, tokA)
}

func TestCurlThroughEachMode(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed (Debian package curl; .ci/run installs it)")
	}
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	cases := map[string][]string{
		"base URL":    {p.baseURL() + "/v1/users/me"},
		"HTTPS proxy": {"--proxy", p.baseURL(), "--cacert", p.caPath, "https://api.notion.com/v1/users/me"},
		"HTTP proxy":  {"--proxy", p.baseURL(), "http://api.notion.com/v1/users/me"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command("curl", append([]string{"-sS", "--fail-with-body", "--max-time", "20",
				"-H", "Authorization: Bearer stale"}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v: %s", err, out)
			}
			var user struct{ Object, Type string }
			if err := json.Unmarshal(out, &user); err != nil || user.Object != "user" {
				t.Fatalf("curl got %s", out)
			}
		})
	}
}

func TestConfigHotReload(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB, tokC)
	base := upstreamConfig(fake, fakeCA)
	// lastToken makes one call and returns the token the fake saw.
	lastToken := func(t *testing.T, p *proc) string {
		code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		reqs := fake.Requests()
		return reqs[len(reqs)-1].Token
	}
	within := func(t *testing.T, p *proc, want string) {
		testwait.Until(t, time.Second, "the new token to be used", func() bool { return lastToken(t, p) == want })
	}
	t.Run("an in-place write", func(t *testing.T) {
		p := startProxy(t, base+"token: "+tokA+"\n")
		f, err := os.OpenFile(p.cfgPath, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("listen: 127.0.0.1:0\n" + base + "token: " + tokB + "\n")
		f.Close()
		within(t, p, tokB)
	})
	t.Run("an editor's write-temp-and-rename", func(t *testing.T) {
		p := startProxy(t, base+"token: "+tokA+"\n")
		writeAtomic(t, p.cfgPath, []byte("listen: 127.0.0.1:0\n"+base+"token: "+tokB+"\n"))
		within(t, p, tokB)
		writeAtomic(t, p.cfgPath, []byte("listen: 127.0.0.1:0\n"+base+"token: "+tokC+"\n"))
		within(t, p, tokC)
	})
	t.Run("delete and recreate", func(t *testing.T) {
		p := startProxy(t, base+"token: "+tokA+"\n")
		if err := os.Remove(p.cfgPath); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // a real gap between delete and create
		if lastToken(t, p) != tokA {
			t.Fatal("a missing config file changed the token")
		}
		if err := os.WriteFile(p.cfgPath, []byte("listen: 127.0.0.1:0\n"+base+"token: "+tokB+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		within(t, p, tokB)
	})
	t.Run("a Kubernetes ..data symlink swap", func(t *testing.T) {
		dir := t.TempDir()
		write := func(version, tok string) {
			vdir := filepath.Join(dir, "..2026_11_25_"+version)
			if err := os.Mkdir(vdir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(vdir, "notion-proxy.yaml"),
				[]byte("listen: 127.0.0.1:0\n"+base+"token: "+tok+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			tmp := filepath.Join(dir, "..data_tmp")
			if err := os.Symlink(filepath.Base(vdir), tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
		}
		write("v1", tokA)
		path := filepath.Join(dir, "notion-proxy.yaml")
		if err := os.Symlink("..data/notion-proxy.yaml", path); err != nil {
			t.Fatal(err)
		}
		p := startProxyAt(t, dir, path)
		if lastToken(t, p) != tokA {
			t.Fatal("first token not used")
		}
		write("v2", tokB)
		within(t, p, tokB)
	})
	t.Run("SIGHUP forces a reload", func(t *testing.T) {
		p := startProxy(t, base+"token: "+tokA+"\n")
		before := p.countLogs("config reloaded")
		_ = p.cmd.Process.Signal(sighup)
		testwait.Until(t, 5*time.Second, "a reload after SIGHUP", func() bool { return p.countLogs("config reloaded") > before })
	})
}

func TestBadConfigKeepsTheLastGoodOne(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	base := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA)
	cases := []struct {
		name, content, wantErr string
	}{
		{"broken YAML", base + "token: [" + tokB + "\n", "notion-proxy.yaml"},
		{"an empty file", "", "empty"},
		{"an empty token", base + "token: \"\"\n", "token"},
		{"an unknown key", base + "token: " + tokB + "\ntokken: x\n", ":5"},
		{"a token with a space", base + "token: \"" + tokB + " x\"\n", "whitespace"},
	}
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	for _, c := range cases {
		t.Run(c.name+" is ignored", func(t *testing.T) {
			writeAtomic(t, p.cfgPath, []byte(c.content))
			testwait.Until(t, 2*time.Second, "the reload error in /-/status", func() bool {
				st := p.status(t)
				return strings.Contains(st.LastReloadError, c.wantErr) && st.Profiles[0].LastReloadError != ""
			})
			fake.Reset()
			code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
			if code != 200 || fake.Requests()[0].Token != tokA {
				t.Fatalf("the last good config stopped serving: %d %s", code, body)
			}
		})
	}
	t.Run("a good file after bad ones is taken", func(t *testing.T) {
		writeAtomic(t, p.cfgPath, []byte(base+"token: "+tokB+"\n"))
		testwait.Until(t, 2*time.Second, "the error to clear", func() bool { return p.status(t).LastReloadError == "" })
		fake.Reset()
		do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
		if fake.Requests()[0].Token != tokB {
			t.Fatal("new token not used")
		}
	})
	p.stop()
	secretsIn(t, p, tokA, tokB)
	if p.countLogs("config not reloaded") < len(cases) {
		t.Errorf("expected a log line for each bad config, got %d", p.countLogs("config not reloaded"))
	}
}

func TestOtherHostsAreTunnelledUntouched(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	var seen http.Header
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		_, _ = w.Write([]byte("other"))
	}))
	defer other.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		_, _ = w.Write([]byte("plain"))
	}))
	defer plain.Close()

	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	pool := x509.NewCertPool()
	pool.AddCert(other.Certificate())
	hc := p.httpsProxyClient()
	hc.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	hdr := map[string]string{"Authorization": "Bearer the-programs-own", "X-Custom": "kept"}
	for name, c := range map[string]struct {
		client *http.Client
		url    string
	}{
		"a CONNECT tunnel": {hc, other.URL + "/anything"},
		"a plain request":  {p.httpProxyClient(), plain.URL + "/anything"},
	} {
		t.Run(name, func(t *testing.T) {
			code, body, _ := do(t, c.client, "GET", c.url, nil, hdr)
			if code != 200 {
				t.Fatalf("status %d %s", code, body)
			}
			if seen.Get("Authorization") != "Bearer the-programs-own" || seen.Get("X-Custom") != "kept" || seen.Get("Notion-Version") != "" {
				t.Errorf("other host saw %v", seen)
			}
		})
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("fake Notion saw %d requests for other hosts", n)
	}
	p.stop()

	t.Run("other_hosts: deny refuses both with 403", func(t *testing.T) {
		p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\nother_hosts: deny\n")
		code, _, _ := do(t, p.httpProxyClient(), "GET", plain.URL+"/x", nil, nil)
		if code != http.StatusForbidden {
			t.Errorf("plain request: %d", code)
		}
		hc := p.httpsProxyClient()
		_, err := hc.Get(other.URL + "/x")
		if err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Errorf("CONNECT: err %v, want a 403", err)
		}
	})
}

func TestUnreachableUpstreamAnswers502InNotionShape(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	_, fakeCA := startFake(t)
	p := startProxy(t, "upstream: https://"+dead+"\nupstream_ca: "+fakeCA+"\ntoken: "+tokA+"\n")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			c := m.client(p)
			for i := 0; i < 2; i++ { // the connection stays usable
				code, body, _ := do(t, c, "POST", m.url(p, "/v1/pages"), []byte(`{}`), nil)
				var e struct {
					Object, Code, Message string
					Status                int
				}
				if err := json.Unmarshal(body, &e); err != nil || code != 502 || e.Object != "error" ||
					e.Status != 502 || e.Code != "proxy_upstream_unreachable" || e.Message == "" {
					t.Fatalf("got %d %s", code, body)
				}
			}
		})
	}
}

package integration_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tests of the status page (docs/design.md#the-person-who-fixes-the-token) through plain HTTP: the page and its
// files, its summary, and the paste-token form's guards and writes. The
// same page in a real browser is in chromium_page_test.go.

// pageSecret loads GET /-/ and returns the form secret it carries.
func pageSecret(t *testing.T, p *proc) string {
	t.Helper()
	code, body, hdr := do(t, p.baseClient(), "GET", p.baseURL()+"/-/", nil, nil)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /-/: %d %s", code, hdr.Get("Content-Type"))
	}
	m := regexp.MustCompile(`name="notion-proxy-page" content="([0-9a-f]{64})"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("GET /-/ carries no page secret:\n%s", body)
	}
	return string(m[1])
}

// paste POSTs a token to /-/token as the page's script does.
func paste(t *testing.T, p *proc, secret, adminToken, profile, token string) reply {
	t.Helper()
	hdr := map[string]string{"Content-Type": "application/json"}
	if secret != "" {
		hdr["X-Notion-Proxy-Page"] = secret
	}
	if adminToken != "" {
		hdr["Authorization"] = "Bearer " + adminToken
	}
	body, _ := json.Marshal(map[string]string{"profile": profile, "token": token})
	r := send(context.Background(), p.baseClient(), "POST", p.baseURL()+"/-/token", body, hdr)
	if r.err != nil {
		t.Fatalf("POST /-/token: %v", r.err)
	}
	audit.addText(string(r.body))
	return r
}

// summaryOf fetches GET /-/summary.
func summaryOf(t *testing.T, p *proc) map[string]any {
	t.Helper()
	code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/-/summary", nil, nil)
	var sum map[string]any
	if code != 200 || json.Unmarshal(body, &sum) != nil {
		t.Fatalf("GET /-/summary: %d %s", code, body)
	}
	audit.addText(string(body))
	return sum
}

func TestStatusPageFiles(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	code, body, hdr := do(t, p.baseClient(), "GET", p.baseURL()+"/-/", nil, nil)
	if code != 200 {
		t.Fatalf("GET /-/: %d", code)
	}
	csp := hdr.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).Match(body) {
		t.Errorf("the page loads an external asset:\n%s", body)
	}
	for path, ctype := range map[string]string{"/-/page.js": "text/javascript", "/-/page.css": "text/css"} {
		if code, _, hdr := do(t, p.baseClient(), "GET", p.baseURL()+path, nil, nil); code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %s", path, code, hdr.Get("Content-Type"))
		}
	}
	if a, b := pageSecret(t, p), pageSecret(t, p); a != b {
		t.Error("the page secret changed between two loads: it is one per process")
	}
}

func TestPasteTokenFormResumesTheWaitingCall(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	cfg := "# my proxy\nlisten: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) + "token: " + tokA + " # pasted from Notion\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, path)
	secret := pageSecret(t, p)
	fake.Revoke(tokA)
	ch := sendAsync(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody("paste"), callHeader("paste-1"))
	p.waitProfile(t, "default", "the call waiting", pausedWith(1))

	t.Run("the summary shows the paused profile and that its token can be pasted", func(t *testing.T) {
		prof := summaryOf(t, p)["profiles"].([]any)[0].(map[string]any)
		if prof["state"] != "paused" || prof["waiting"] != 1.0 || prof["can_paste"] != true || prof["source"] != "token" ||
			!strings.Contains(prof["last_error"].(string), "rejected") || !strings.Contains(prof["do"].(string), "Regenerate") {
			t.Errorf("summary profile %v", prof)
		}
	})
	t.Run("without the page's secret nothing is written", func(t *testing.T) {
		for _, r := range []reply{paste(t, p, "", "", "default", tokB), paste(t, p, strings.Repeat("0", 64), "", "default", tokB)} {
			if r.code != 403 || !strings.Contains(string(r.body), "proxy_page_forbidden") {
				t.Errorf("got %v, want 403 proxy_page_forbidden", r)
			}
		}
		hdr := map[string]string{"X-Notion-Proxy-Page": secret, "Content-Type": "text/plain"}
		if r := send(context.Background(), p.baseClient(), "POST", p.baseURL()+"/-/token", []byte(`{"profile":"default","token":"x"}`), hdr); r.code != 415 {
			t.Errorf("a text/plain body: %v, want 415", r)
		}
		if data, _ := os.ReadFile(path); string(data) != cfg {
			t.Errorf("the config changed:\n%s", data)
		}
	})
	t.Run("a token with a space is refused", func(t *testing.T) {
		if r := paste(t, p, secret, "", "default", "two words"); r.code != 422 {
			t.Errorf("got %v, want 422", r)
		}
	})
	t.Run("the token pasted is written like token set and the waiting call is answered once", func(t *testing.T) {
		fake.AddToken(tokB)
		r := paste(t, p, secret, "", "default", tokB+"\n")
		if r.code != 200 || strings.Contains(string(r.body), tokB) {
			t.Fatalf("got %v", r)
		}
		want := strings.Replace(cfg, tokA, tokB, 1)
		if data, _ := os.ReadFile(path); string(data) != want {
			t.Errorf("config after the paste:\n%s\nwant only the token changed:\n%s", data, want)
		}
		if got := await(t, "the waiting call", ch, 10*time.Second); got.code != 200 {
			t.Fatalf("waiting call: %v", got)
		}
		var ok int
		for _, req := range withID(fake, "paste-1") {
			if req.Status == 200 {
				ok++
				if req.Token != tokB {
					t.Error("the replay did not carry the pasted token")
				}
			}
		}
		if ok != 1 || fake.Applied()["paste-1"] != 1 {
			t.Errorf("the fake answered the call 200 %d times and applied it %d times, want once", ok, fake.Applied()["paste-1"])
		}
		p.waitProfile(t, "default", "ok", isOK)
	})
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

func TestPasteTokenFormWritesATokenFile(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "notion.token")
	if err := os.WriteFile(tokFile, []byte(tokA+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) + "profiles:\n  - name: files\n    token_file: " + tokFile +
		"\n  - name: env\n    token_env: SOME_NOTION_TOKEN\n    match: [env]\n"
	path := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyEnv(t, dir, path, []string{"SOME_NOTION_TOKEN=" + tokC})
	before, _ := os.ReadFile(p.cfgPath)
	admin(t, p, "/-/revoke?profile=files", "")
	secret := pageSecret(t, p)
	if r := paste(t, p, secret, "", "files", tokB); r.code != 200 {
		t.Fatalf("got %v", r)
	}
	if data, _ := os.ReadFile(tokFile); string(data) != tokB+"\n" {
		t.Errorf("token_file holds %q", data)
	}
	if fi, _ := os.Stat(tokFile); fi.Mode().Perm() != 0o640 {
		t.Errorf("token_file mode %v, want its own 0640 kept", fi.Mode().Perm())
	}
	if after, _ := os.ReadFile(p.cfgPath); string(after) != string(before) {
		t.Errorf("the config changed:\n%s", after)
	}
	if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
		t.Fatalf("after the paste: %d %s", code, body)
	}
	t.Run("a token_env profile says what to do instead", func(t *testing.T) {
		r := paste(t, p, secret, "", "env", tokC)
		if r.code != 422 || !strings.Contains(string(r.body), "SOME_NOTION_TOKEN") {
			t.Errorf("got %v", r)
		}
	})
	p.stop()
	secretsIn(t, p, tokA, tokB, tokC)
}

func TestPasteTokenFormNeedsTheAdminToken(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, tokenConfig(fake, fakeCA, "admin_token: the-admin-token\n", tokA))
	admin(t, p, "/-/revoke", "the-admin-token")
	secret := pageSecret(t, p)
	if sum := summaryOf(t, p); sum["admin_token_required"] != true {
		t.Errorf("the summary does not say the admin token is needed: %v", sum)
	}
	if r := paste(t, p, secret, "", "default", tokB); r.code != 401 {
		t.Errorf("without the admin token: %v, want 401", r)
	}
	if r := paste(t, p, secret, "wrong", "default", tokB); r.code != 401 {
		t.Errorf("with a wrong admin token: %v, want 401", r)
	}
	if r := paste(t, p, secret, "the-admin-token", "default", tokB); r.code != 200 {
		t.Errorf("with the admin token: %v", r)
	}
	if data, _ := os.ReadFile(p.cfgPath); !strings.Contains(string(data), tokB) {
		t.Errorf("token not written:\n%s", data)
	}
	t.Run("with no call waiting, the summary says the next call tries the new token", func(t *testing.T) {
		prof := summaryOf(t, p)["profiles"].([]any)[0].(map[string]any)
		if prof["state"] != "paused" || prof["token_untried"] != true {
			t.Errorf("summary profile %v", prof)
		}
		if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
			t.Fatalf("the next call: %d %s", code, body)
		}
		prof = summaryOf(t, p)["profiles"].([]any)[0].(map[string]any)
		if prof["state"] != "ok" || prof["token_untried"] != false {
			t.Errorf("summary profile after the call %v", prof)
		}
	})
}

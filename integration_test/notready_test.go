package integration_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// waitingCall sends GET /v1/users/me in base-URL mode in the background and
// returns the channel that receives its status (0 on a transport error).
func waitingCall(t *testing.T, p *proc) <-chan int {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		resp, err := p.baseClient().Get(p.baseURL() + "/v1/users/me")
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	return done
}

// TestATokenFileWrittenAfterStartServesTheWaitingCall: a token_file that
// does not exist yet is no reason to exit; the proxy serves, the call waits,
// and the file created later (temp file + rename) releases it, sent once.
func TestATokenFileWrittenAfterStartServesTheWaitingCall(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secrets", "notion")
	if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+"token_file: secrets/notion\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, cfg)
	if banner := strings.Join(p.allLines(), "\n"); !strings.Contains(banner, "does not exist") {
		t.Errorf("the banner does not say the token_file is missing:\n%s", banner)
	}
	done := waitingCall(t, p)
	testwait.Until(t, 5*time.Second, "the call to wait", func() bool { return p.status(t).Profiles[0].Waiting == 1 })
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("the fake got %d calls while there was no token", n)
	}

	writeAtomic(t, secret, []byte(tokA+"\n"))
	if code := <-done; code != http.StatusOK {
		t.Fatalf("waiting call ended %d, want 200", code)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Token != tokA {
		t.Fatalf("the fake got %d calls (%+v), want exactly one with the new token", len(reqs), reqs)
	}
	p.stop()
	secretsIn(t, p, tokA)
}

// TestATokenFileInADirectoryMadeLaterServesTheWaitingCall: a token_file
// whose directory does not exist yet is picked up, with no restart, when the
// directory and the file appear, as the banner says.
func TestATokenFileInADirectoryMadeLaterServesTheWaitingCall(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	secret := filepath.Join(dir, "later", "secrets", "notion")
	cfg := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+"token_file: later/secrets/notion\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, cfg)
	banner := strings.Join(p.allLines(), "\n")
	if !strings.Contains(banner, "the token is picked up when the directory and the file appear") || strings.Contains(banner, "restart") {
		t.Errorf("the banner does not say the token is picked up when the directory appears:\n%s", banner)
	}
	done := waitingCall(t, p)
	testwait.Until(t, 5*time.Second, "the call to wait", func() bool { return p.status(t).Profiles[0].Waiting == 1 })

	if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, secret, []byte(tokA+"\n"))
	if code := <-done; code != http.StatusOK {
		t.Fatalf("waiting call ended %d, want 200", code)
	}
	if reqs := fake.Requests(); len(reqs) != 1 || reqs[0].Token != tokA {
		t.Fatalf("the fake got %d calls (%+v), want exactly one with the new token", len(reqs), reqs)
	}
}

// TestTheExampleConfigServesWithNoTokenVariable: config.example.yaml copied
// as it is, with NOTION_TOKEN unset, serves; its calls wait for a token.
func TestTheExampleConfigServesWithNoTokenVariable(t *testing.T) {
	example, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(example), "listen: 127.0.0.1:8787\n", "listen: 127.0.0.1:0\n", 1)
	if cfg == string(example) {
		t.Fatal("config.example.yaml has no listen line to move to port 0")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyEnv(t, dir, path, []string{"NOTION_TOKEN="})
	p.waitLog("token source not ready", 5*time.Second)
	if st := p.status(t); st.Profiles[0].State != "paused" {
		t.Fatalf("profile with an unset token_env is %q, want paused", st.Profiles[0].State)
	}
	banner := strings.Join(p.allLines(), "\n")
	for _, want := range []string{"NOTION_TOKEN is not set", "restart"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, banner)
		}
	}
}

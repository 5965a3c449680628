package integration_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// TestFirstRunWritesAStarterConfigAndWaitsForAToken follows a newcomer: no
// config at all; the proxy writes a starter config and the CA, serves, and
// calls wait until `notion-proxy token set` writes a token.
func TestFirstRunWritesAStarterConfigAndWaitsForAToken(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	// The only thing a test must add is where the fake is: the proxy writes
	// the starter config, the test then points it at the fake.
	p := startProxyAt(t, dir, path)
	for _, f := range []string{"notion-proxy.yaml", "ca.pem", "ca-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("first run did not write %s: %v", f, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "ca-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v", fi.Mode().Perm())
	}
	welcome := strings.Join(p.allLines(), "\n")
	for _, want := range []string{"starter config", "HTTPS_PROXY", "ca.pem"} {
		if !strings.Contains(welcome, want) {
			t.Errorf("welcome text lacks %q", want)
		}
	}
	starter, _ := os.ReadFile(path)
	pointed := strings.Replace(string(starter), "upstream: https://api.notion.com\n", upstreamConfig(fake, fakeCA), 1)
	if pointed == string(starter) {
		t.Fatalf("starter config has no upstream line to point at the fake:\n%s", starter)
	}
	writeAtomic(t, path, []byte(pointed))
	testwait.Until(t, 2*time.Second, "the upstream change to load", func() bool {
		return p.countLogs("config reloaded") > 0
	})
	if st := p.status(t); st.Profiles[0].State != "paused" {
		t.Fatalf("profile with no token is %q, want paused", st.Profiles[0].State)
	}

	var wg sync.WaitGroup
	var code int
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := http.Get(p.baseURL() + "/v1/users/me")
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		code = resp.StatusCode
	}()
	testwait.Until(t, 5*time.Second, "the call to wait", func() bool { return p.status(t).Profiles[0].Waiting == 1 })

	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	set := exec.Command(binary, "token", "set", "--config", path)
	set.Stdin = strings.NewReader(tokA + "\n")
	if out, err := set.CombinedOutput(); err != nil || strings.Contains(string(out), tokA) {
		t.Fatalf("token set: %v: %s", err, out)
	}
	wg.Wait()
	if code != 200 {
		t.Fatalf("waiting call ended %d", code)
	}
	cfg, _ := os.ReadFile(path)
	if !strings.Contains(string(cfg), "# Where Notion calls are sent.") {
		t.Error("token set dropped the config's comments")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("token set changed the config's mode to %v", fi.Mode().Perm())
	}
	p.stop()
	secretsIn(t, p, tokA)
}

package fakenotion_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// control posts or gets a control endpoint and decodes a JSON answer into v
// (if v is not nil).
func control(t *testing.T, base, method, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func TestControlHandlerDrivesTheFake(t *testing.T) {
	s := startFake(t)
	ctl := httptest.NewServer(s.ControlHandler())
	defer ctl.Close()
	client := s.Client()

	control(t, ctl.URL, "POST", "/add?token=ntn_ctl", nil)
	write := call{method: "POST", path: "/v1/pages", token: "ntn_ctl", version: version, body: `{"parent":{"workspace":true}}`,
		header: http.Header{"X-Test-Call-Id": {"w1"}}}
	wantStatus(t, mustSend(t, client, s, write), http.StatusOK)

	control(t, ctl.URL, "POST", "/fail?n=1&status=429&retry_after=3", nil)
	a := mustSend(t, client, s, write)
	wantNotionError(t, a, http.StatusTooManyRequests, "rate_limited")
	if a.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After = %q", a.header.Get("Retry-After"))
	}

	control(t, ctl.URL, "POST", "/revoke?token=ntn_ctl", nil)
	wantNotionError(t, mustSend(t, client, s, write), http.StatusUnauthorized, "unauthorized")

	var applied map[string]int
	control(t, ctl.URL, "GET", "/applied", &applied)
	if len(applied) != 1 || applied["w1"] != 1 {
		t.Errorf("GET /applied = %v, want w1 once", applied)
	}
	var reqs []map[string]any
	control(t, ctl.URL, "GET", "/requests", &reqs)
	if len(reqs) != 3 || reqs[1]["outcome"] != "injected" || reqs[2]["outcome"] != "invalid_token" {
		t.Errorf("GET /requests = %v", reqs)
	}
	var hits map[string]any
	control(t, ctl.URL, "GET", "/hits?path=/v1/pages", &hits)
	if hits["hits"] != float64(3) {
		t.Errorf("GET /hits = %v", hits)
	}
}

func TestTLSIsValidForLoopbackAndTheAPIHost(t *testing.T) {
	s := startFake(t, tok)
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := s.WriteCA(path); err != nil {
		t.Fatal(err)
	}
	pemData, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("WriteCA wrote no certificate")
	}
	addr := s.URL()[len("https://"):]
	for _, name := range []string{"127.0.0.1", "localhost", "api.notion.com"} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Errorf("TLS as %s: %v", name, err)
			continue
		}
		leaf := conn.ConnectionState().PeerCertificates[0]
		if leaf.PublicKeyAlgorithm != x509.ECDSA {
			t.Errorf("leaf key algorithm = %v, want ECDSA", leaf.PublicKeyAlgorithm)
		}
		_ = conn.Close()
	}
	if _, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "api.notion.com", MinVersion: tls.VersionTLS12}); err == nil {
		t.Error("the fake's certificate verified without its CA")
	}
}

func TestCloseIsIdempotentAndLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t)
	s, err := fakenotion.Start(tok)
	if err != nil {
		t.Fatal(err)
	}
	client := s.Client()
	wantStatus(t, mustSend(t, client, s, call{method: "GET", path: "/v1/users/me", token: tok, version: version}), http.StatusOK)

	// A call held by the delay must not keep Close waiting.
	s.SetDelay(time.Hour)
	done := make(chan error, 1)
	go func() {
		_, err := send(context.Background(), client, s, call{method: "GET", path: "/v1/users/me", token: tok, version: version})
		done <- err
	}()
	testwait.Until(t, 5*time.Second, "the delayed call to arrive", func() bool { return len(s.Requests()) == 2 })

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("the delayed call got an answer from a closed fake")
	}
	if _, err := send(context.Background(), client, s, call{method: "GET", path: "/v1/users/me", token: tok, version: version}); err == nil {
		t.Error("a closed fake answered")
	}
	client.CloseIdleConnections()
}

func TestEchoHeaderShowsWhatArrived(t *testing.T) {
	s := startFake(t, tok)
	a := mustSend(t, s.Client(), s, call{method: "GET", path: "/v1/users/me?x=1", token: tok, version: version,
		header: http.Header{"X-Fake-Echo": {"1"}}})
	echo, ok := a.json(t)["echo"].(map[string]any)
	if !ok || echo["query"] != "x=1" {
		t.Fatalf("echo = %s", a.body)
	}
	if h := echo["headers"].(map[string]any); fmt.Sprint(h["Notion-Version"]) != "["+version+"]" {
		t.Errorf("echoed headers = %v", h)
	}

	created := mustSend(t, s.Client(), s, call{method: "POST", path: "/v1/pages", token: tok, version: version,
		body: `{"parent":{"workspace":true}}`, header: http.Header{"X-Fake-Echo": {"1"}}})
	id, _ := created.json(t)["id"].(string)
	if _, ok := created.json(t)["echo"]; !ok {
		t.Errorf("no echo on a write: %s", created.body)
	}
	again := mustSend(t, s.Client(), s, call{method: "GET", path: "/v1/pages/" + id, token: tok, version: version})
	if _, leaked := again.json(t)["echo"]; leaked {
		t.Errorf("the echo was stored with the page: %s", again.body)
	}
}

package proxy

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// A refresher that finds its profile probing a new token (another
// replica's, adopted while this replica's refresh was starting; or one
// written into the config) must not refresh: that token is not the
// rejected one, and a refresh would replace it and spend the refresh
// token a second time. TestReplicasRefreshOAuthOnce met it in CI as "2
// refreshes at start, want 1".
func TestRefresherLeavesAProbingTokenAlone(t *testing.T) {
	fake, err := fakenotion.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	fake.EnableOAuth("client-1", "client-secret-1", "refresh-token-0001")
	dir := t.TempDir()
	caPath := filepath.Join(dir, "fake-ca.pem")
	if err := fake.WriteCA(caPath); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notion-proxy.yaml")
	text := fmt.Sprintf("upstream: %s\nupstream_ca: %s\noauth: {client_id: client-1, client_secret: client-secret-1, "+
		"refresh_token: refresh-token-0001, access_token: stale-access-token-0001}\n", fake.URL(), caPath)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newServerAt(t, path, Options{Logger: zerolog.New(io.Discard)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	p := s.profiles.all()[0]

	// This refresher is the one that runs: the pause's own start finds
	// the flag set and does nothing.
	p.refreshing.Store(true)
	p.gate.Revoke(syntheticInvalidToken())
	p.gate.SetToken("ntn_from_another_replica_0123456789abcdefghij")
	if st := p.gate.Status(); !st.Probing {
		t.Fatalf("gate %+v, want probing the new token", st)
	}
	s.refreshLoop(p)

	if n := fake.Hits("/v1/oauth/token"); n != 0 {
		t.Errorf("%d refreshes while a new token was being tried, want 0", n)
	}
	if p.refreshing.Load() {
		t.Error("the refresher still counts as running")
	}
	if tok := p.gate.Token(); tok != "ntn_from_another_replica_0123456789abcdefghij" {
		t.Errorf("the profile's token is %s, want the one being tried", rewrite.Fingerprint(tok))
	}
}

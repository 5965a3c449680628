package proxy

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A call takes its ticket from the gate before the reverse proxy sees it.
// When the reverse proxy then refuses the call without sending it (an
// Upgrade header it cannot forward), the ticket must go back to the gate:
// were it the probe of a new token, every later call would wait forever.
func TestRefusedCallHandsItsProbeBack(t *testing.T) {
	const oldTok, newTok = "ntn_forward_old_0123456789abcdefghijklmno", "ntn_forward_new_0123456789abcdefghijklmno"
	fake, srv, ln := serveAgainstFake(t, zerolog.WarnLevel, oldTok, newTok)
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 10 * time.Second}

	p := srv.profiles.all()[0]
	p.gate.Revoke(syntheticInvalidToken())
	p.gate.SetToken(newTok) // probing: the next call is the probe

	refused, _ := http.NewRequest(http.MethodGet, base+"/v1/users/me", nil)
	refused.Header.Set("Connection", "Upgrade")
	refused.Header.Set("Upgrade", "\u00e9") // not printable ASCII: httputil refuses it
	resp, err := client.Do(refused)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("the call with a bad Upgrade got 200; the test needs a call the reverse proxy refuses")
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("the refused call reached the fake (%d requests)", n)
	}

	resp, err = client.Get(base + "/v1/users/me")
	if err != nil {
		t.Fatalf("the next call (the probe the refused call held?): %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the next call got %d, want 200", resp.StatusCode)
	}
	if st := p.gate.Status(); st.State != "ok" {
		t.Errorf("gate %s after the probe succeeded, want ok", st.State)
	}
}

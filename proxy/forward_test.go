package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
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

// A program that sends its request and half-closes its connection (as
// `nc -N` does) is taken by net/http for gone: the call's context ends,
// and the send upstream with it. The program may still read: it must see
// its connection close, never an empty 200 it would take for a write done.
func TestHalfClosedProgramIsNotToldOfASuccess(t *testing.T) {
	const tok = "ntn_halfclose_0123456789abcdefghijklmnopq"
	fake, _, ln := serveAgainstFake(t, zerolog.WarnLevel, tok)
	fake.SetDelay(time.Second) // the call is in flight when the program half-closes

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	body := `{"parent":{"page_id":"59833787-2cf9-4fdf-8782-e53db20768a5"},"properties":{}}`
	fmt.Fprintf(conn, "POST /v1/pages HTTP/1.1\r\nHost: %s\r\nX-Test-Call-Id: half\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		ln.Addr(), len(body), body)
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("the program read %q, want its connection closed", got)
	}
	if n := fake.Applied()["half"]; n != 0 {
		t.Errorf("the write was applied %d times for a program that left", n)
	}
}

// Notion's OAuth endpoints carry the program's own credentials and have no
// scheduler (no profile hold): a 429 there must still be waited out, each
// resend after the back-off floor, even with Retry-After: 0. A resend at
// once would hammer Notion's token endpoint as the 429 loop of the faults
// issue did.
func TestAnOAuthCallWaitsOutA429(t *testing.T) {
	const tok = "ntn_oauth429_0123456789abcdefghijklmnopqrs"
	fake, _, ln := serveAgainstFake(t, zerolog.WarnLevel, tok)
	fake.EnableOAuth("client-id", "client-secret", "refresh-1")
	fake.FailNextOAuth(2, http.StatusTooManyRequests, "0")

	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/v1/oauth/token",
		strings.NewReader(`{"grant_type":"refresh_token","refresh_token":"refresh-1"}`))
	req.SetBasicAuth("client-id", "client-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var sends []time.Time
	for _, r := range fake.Requests() {
		if r.Path == "/v1/oauth/token" {
			sends = append(sends, r.Time)
		}
	}
	if len(sends) != 3 {
		t.Fatalf("%d sends to the token endpoint, want 3 (two 429s, then 200)", len(sends))
	}
	// The floor of the first back-off is rateLimitBackoffBase/2 (jitter):
	// a resend sooner than that was not waited for.
	for i := 1; i < len(sends); i++ {
		if gap := sends[i].Sub(sends[i-1]); gap < rateLimitBackoffBase/2 {
			t.Errorf("resend %d came %v after the 429, want at least %v", i, gap, rateLimitBackoffBase/2)
		}
	}
}

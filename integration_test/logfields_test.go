package integration_test

import (
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// TestLogFieldsCarryTheirUnit: a number that is a time says its unit in
// its name (duration_ms, grace_ms, paused_for_ms), never a bare "duration".
func TestLogFieldsCarryTheirUnit(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var call map[string]any
	testwait.Until(t, 5*time.Second, "the call's log line", func() bool {
		for _, l := range p.logsWith("call") {
			if l["path"] == "/v1/users/me" {
				call = l
			}
		}
		return call != nil
	})
	if ms, ok := call["duration_ms"].(float64); !ok || ms < 0 || ms > 60_000 {
		t.Errorf("call line: duration_ms = %v, want milliseconds: %v", call["duration_ms"], call)
	}
	p.stop()
	if stopping := p.logsWith("stopping"); len(stopping) != 1 || stopping[0]["grace_ms"] != float64(15000) {
		t.Errorf("stopping line: %v, want grace_ms 15000", stopping)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.logs {
		for _, bare := range []string{"duration", "grace", "paused_for", "retry_in"} {
			if _, ok := l[bare]; ok {
				t.Errorf("log field %q has no unit in its name: %v", bare, l)
			}
		}
	}
}

package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/schedule"
)

// scrape returns what GET /metrics serves.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", w.Code)
	}
	return w.Body.String()
}

// TestFamilies checks the families' names and labels, which dashboards
// and alerts read: the live state from the function given to New, and
// the counters the proxy counts into.
func TestFamilies(t *testing.T) {
	live := []Profile{
		{Name: "a", Gate: gate.Status{State: "paused", Waiting: 3},
			Sched: schedule.Status{State: "held", Pace: 2.5, Waiting: 4, HeldSeconds: 1.5, HeldUntil: time.Now(),
				Limited: map[string]int64{"429 rate_limited": 2}}},
		{Name: "b", Gate: gate.Status{State: "ok"}, Sched: schedule.Status{State: "free"}},
	}
	m := New(func() []Profile { return live })
	m.ObserveCall("a", http.MethodGet, 200, map[string]int{"rate_limited": 2}, true)
	m.ObserveCall("a", http.MethodHead, 200, nil, false)
	m.ObserveCall("b", http.MethodPatch, 401, nil, false)
	m.Reloads.Inc()
	m.ReloadErrors.Inc()
	m.Pauses.WithLabelValues("a").Inc()
	m.PauseDuration.WithLabelValues("a").Observe(2)
	m.UpstreamLatency.WithLabelValues("a").Observe(0.01)
	m.TokenRefreshes.WithLabelValues("a", "ok").Inc()
	got := scrape(t, m)
	for _, want := range []string{
		`notion_proxy_calls_total{class="read",profile="a",status="200"} 2`,
		`notion_proxy_calls_total{class="write",profile="b",status="401"} 1`,
		`notion_proxy_retries_total{profile="a",reason="rate_limited"} 2`,
		`notion_proxy_replays_total{profile="a"} 1`,
		`notion_proxy_pauses_total{profile="a"} 1`,
		`notion_proxy_pause_duration_seconds_count{profile="a"} 1`,
		`notion_proxy_upstream_latency_seconds_count{profile="a"} 1`,
		`notion_proxy_reloads_total 1`,
		`notion_proxy_reload_errors_total 1`,
		`notion_proxy_token_refreshes_total{profile="a",result="ok"} 1`,
		`notion_proxy_waiting_calls{profile="a"} 3`,
		`notion_proxy_paused{profile="a"} 1`,
		`notion_proxy_paused{profile="b"} 0`,
		`notion_proxy_rate_limited_total{profile="a",reason="rate_limited",status="429"} 2`,
		`notion_proxy_rate_limit_held_seconds_total{profile="a"} 1.5`,
		`notion_proxy_rate_limit_pace{profile="a"} 2.5`,
		`notion_proxy_rate_limit_waiting_calls{profile="a"} 4`,
		`notion_proxy_rate_limited{profile="a"} 1`,
		`notion_proxy_rate_limited{profile="b"} 0`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", want, got)
		}
	}
}

// TestLiveReadAtScrape checks the live state is read at each scrape, not
// kept from the first.
func TestLiveReadAtScrape(t *testing.T) {
	state := "ok"
	m := New(func() []Profile { return []Profile{{Name: "a", Gate: gate.Status{State: state}}} })
	if got := scrape(t, m); !strings.Contains(got, `notion_proxy_paused{profile="a"} 0`+"\n") {
		t.Fatalf("first scrape:\n%s", got)
	}
	state = "paused"
	if got := scrape(t, m); !strings.Contains(got, `notion_proxy_paused{profile="a"} 1`+"\n") {
		t.Errorf("second scrape, paused:\n%s", got)
	}
}

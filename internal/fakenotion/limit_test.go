package fakenotion_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

func TestLimit(t *testing.T) {
	tests := []struct {
		desc      string
		limit     fakenotion.Limit
		tokens    []string // one call each, in order
		wantOK    int
		maxRetry  int // Retry-After of the 429s is 1..maxRetry
		wantShape string
	}{
		{"a token bucket lets its burst through, then answers 429",
			fakenotion.Limit{Rate: 0.5, Burst: 2, Reason: "integration_rate_limit", PerToken: true},
			[]string{"ntn_a", "ntn_a", "ntn_a", "ntn_a"}, 2, 2, "integration_rate_limit"},
		{"a per-token bucket keeps tokens apart",
			fakenotion.Limit{Rate: 0.5, Burst: 1, PerToken: true},
			[]string{"ntn_a", "ntn_b", "ntn_a"}, 2, 2, ""},
		{"a window budget answers 429 until the window ends",
			fakenotion.Limit{Budget: 3, Window: 5 * time.Second, Reason: "workspace_rate_limit"},
			[]string{"ntn_a", "ntn_b", "ntn_a", "ntn_b", "ntn_a"}, 3, 5, "workspace_rate_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s := startFake(t, "ntn_a", "ntn_b")
			s.SetLimit(tt.limit)
			client := s.Client()
			ok := 0
			for _, tok := range tt.tokens {
				a := mustSend(t, client, s, call{method: "GET", path: "/v1/users/me", token: tok, version: version})
				switch a.status {
				case http.StatusOK:
					ok++
				case http.StatusTooManyRequests:
					ra, err := strconv.Atoi(a.header.Get("Retry-After"))
					if err != nil || ra < 1 || ra > tt.maxRetry {
						t.Errorf("Retry-After %q, want whole seconds in 1..%d", a.header.Get("Retry-After"), tt.maxRetry)
					}
					body := a.json(t)
					if body["code"] != "rate_limited" || body["object"] != "error" {
						t.Errorf("429 body %s is not Notion's rate_limited error", a.body)
					}
					extra, _ := body["additional_data"].(map[string]any)
					if got, _ := extra["rate_limit_reason"].(string); got != tt.wantShape {
						t.Errorf("rate_limit_reason %q, want %q", got, tt.wantShape)
					}
				default:
					t.Fatalf("status %d: %s", a.status, a.body)
				}
			}
			if ok != tt.wantOK {
				t.Fatalf("%d calls accepted, want %d", ok, tt.wantOK)
			}
			if got := s.RateLimited(); got != len(tt.tokens)-tt.wantOK {
				t.Fatalf("RateLimited() = %d, want %d", got, len(tt.tokens)-tt.wantOK)
			}
		})
	}
}

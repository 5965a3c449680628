package admin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/notify"
)

func TestAdminAddr(t *testing.T) {
	tests := []struct {
		desc, listen, want string
		wantErr            bool
	}{
		{"a loopback address is used as it is", "127.0.0.1:8787", "127.0.0.1:8787", false},
		{"localhost is used as it is", "localhost:8787", "localhost:8787", false},
		{"all interfaces are reached on 127.0.0.1", "0.0.0.0:8787", "127.0.0.1:8787", false},
		{"an empty host is reached on 127.0.0.1", ":8787", "127.0.0.1:8787", false},
		{"IPv6 loopback keeps its brackets", "[::1]:8787", "[::1]:8787", false},
		{"port 0 cannot be found", "127.0.0.1:0", "", true},
		{"no port is an error", "localhost", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := AdminAddr(tt.listen)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("AdminAddr(%q) = %q, %v; want %q, error %v", tt.listen, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestWriteSummary(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	since := now.Add(-90 * time.Second)
	ok := ProfileSummary{ProfileStatus: ProfileStatus{Name: "a", State: "ok", Token: "ntn_…a1b2 #3f9c0e"}, Source: "token_file", SourceDetail: "/run/tok"}
	paused := ProfileSummary{ProfileStatus: ProfileStatus{Name: "b", State: "paused", Token: "ntn_…c3d4 #000000", Waiting: 2, PausedSince: &since},
		Source: "token", Do: "Paste it.", LastError: "Notion rejected the token",
		Events: []notify.Event{{Event: notify.Paused, Time: since, Text: "notion-proxy: Notion rejected it. Paste it."}}}
	tests := []struct {
		desc     string
		profiles []ProfileSummary
		shared   *SharedStatus
		code     int
		want     []string
	}{
		{"a degraded link to the other replicas is said, with why", []ProfileSummary{ok},
			&SharedStatus{State: "degraded", LastError: "dial tcp 10.0.0.5:6379: connection refused"}, StatusExitOK,
			[]string{"shared with the other replicas (Redis): degraded", "own state: dial tcp 10.0.0.5:6379: connection refused"}},
		{"a connected link is one line", []ProfileSummary{ok}, &SharedStatus{State: "connected", LastError: "old"}, StatusExitOK,
			[]string{"shared with the other replicas (Redis): connected\n\nprofile a"}},
		{"a new token not yet tried is said so", []ProfileSummary{{ProfileStatus: ProfileStatus{Name: "c", State: "paused", PausedSince: &since}, TokenUntried: true, LastError: "old"}},
			nil, StatusExitPaused, []string{"now:     a new token is in place; the next call tries it"}},
		{"every profile ok exits 0", []ProfileSummary{ok}, nil, StatusExitOK, []string{"profile a: OK", "from token_file /run/tok"}},
		{"a paused profile exits 1 and says what to do", []ProfileSummary{ok, paused}, nil, StatusExitPaused,
			[]string{"profile b: PAUSED", "(1m30s ago)", "waiting: 2 call(s)", "why:     Notion rejected the token", "to do:   Paste it.", "Notion rejected it.\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out bytes.Buffer
			code := WriteSummary(&out, Summary{Config: "/c.yaml", Page: "http://127.0.0.1:1/-/", Profiles: tt.profiles, Shared: tt.shared}, now)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			for _, w := range append(tt.want, "config /c.yaml", "status page: http://127.0.0.1:1/-/") {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

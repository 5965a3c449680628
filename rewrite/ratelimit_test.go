package rewrite

import "testing"

func TestRateLimitReason(t *testing.T) {
	tests := []struct {
		desc, body, want string
		workspace        bool
	}{
		{"a workspace reason is read", `{"object":"error","status":429,"code":"rate_limited","message":"m","additional_data":{"rate_limit_reason":"workspace_rate_limit"}}`, "workspace_rate_limit", true},
		{"a connection reason is read", `{"object":"error","status":429,"code":"rate_limited","additional_data":{"rate_limit_reason":"integration_rate_limit"}}`, "integration_rate_limit", false},
		{"a body without additional_data has no reason", `{"object":"error","status":429,"code":"rate_limited","message":"m"}`, "", false},
		{"a reason that is not a string is ignored", `{"additional_data":{"rate_limit_reason":7}}`, "", false},
		{"a body that is not JSON has no reason", `<html>429</html>`, "", false},
		{"odd characters are dropped", `{"additional_data":{"rate_limit_reason":"Work space\n\"x\""}}`, "Workspacex", true},
		{"a long reason is cut", `{"additional_data":{"rate_limit_reason":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}`, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := RateLimitReason([]byte(tt.body))
			if got != tt.want {
				t.Fatalf("RateLimitReason = %q, want %q", got, tt.want)
			}
			if NamesWorkspace(got) != tt.workspace {
				t.Fatalf("NamesWorkspace(%q) = %v, want %v", got, !tt.workspace, tt.workspace)
			}
		})
	}
}

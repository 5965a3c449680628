package tokensource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notion-proxy/notion-proxy/proxy/config"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("ntn_from_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"NOTION_TOKEN": " ntn_from_env \n", "TWO": "ntn_a ntn_b"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		p       config.Profile
		wantTok string
		wantOK  bool
		wantErr string
	}{
		{"an inline token is read as it is", config.Profile{Name: "p", Token: "ntn_inline"}, "ntn_inline", true, ""},
		{"token_env is read trimmed", config.Profile{TokenEnv: "NOTION_TOKEN"}, "ntn_from_env", true, ""},
		{"an unset token_env is not ready", config.Profile{TokenEnv: "UNSET"}, "", false, "token_env UNSET is not set"},
		{"a token_env holding two words is refused, naming it", config.Profile{TokenEnv: "TWO"}, "", false, "token_env TWO"},
		{"token_file is read trimmed", config.Profile{TokenFile: file}, "ntn_from_file", true, ""},
		{"a missing token_file is not ready", config.Profile{TokenFile: filepath.Join(dir, "nope")}, "", false, "does not exist"},
		{"an empty token_file is not ready", config.Profile{TokenFile: empty}, "", false, "is empty"},
		{"a kept OAuth access token is read", config.Profile{OAuth: &config.OAuth{AccessToken: "ntn_access"}}, "ntn_access", true, ""},
		{"OAuth with no access token yet is the refresher's", config.Profile{OAuth: &config.OAuth{}}, "", false, ""},
		{"a token_command is the refresher's", config.Profile{TokenCommand: []string{"x"}}, "", false, ""},
		{"no source gives no token: calls wait", config.Profile{}, "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, ok, err := Resolve(tt.p, getenv)
			if tok != tt.wantTok || ok != tt.wantOK {
				t.Errorf("Resolve = %q, %v; want %q, %v", tok, ok, tt.wantTok, tt.wantOK)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunCommand(t *testing.T) {
	tests := []struct {
		name       string
		argv       []string
		wantTok    string
		wantStderr string
		wantErr    bool
	}{
		{"stdout trimmed is the token", []string{"sh", "-c", "echo ' ntn_cmd '"}, "ntn_cmd", "", false},
		{"stderr is returned for the log, trimmed", []string{"sh", "-c", "echo ntn_cmd; echo note >&2"}, "ntn_cmd", "note", false},
		{"a failing command is an error", []string{"sh", "-c", "echo ntn_cmd; exit 3"}, "", "", true},
		{"two words are no single token", []string{"sh", "-c", "echo ntn_a ntn_b"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, stderr, err := RunCommand(context.Background(), tt.argv)
			if tok != tt.wantTok || stderr != tt.wantStderr || (err != nil) != tt.wantErr {
				t.Errorf("RunCommand = %q, %q, %v; want %q, %q, error %v", tok, stderr, err, tt.wantTok, tt.wantStderr, tt.wantErr)
			}
			if err != nil && errors.Is(err, ErrInvalidGrant) {
				t.Errorf("a command's failure is not invalid_grant")
			}
		})
	}
}

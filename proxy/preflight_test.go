package proxy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/localca"
)

func TestPreflightRefusesWhatRunCannotUseAndWarnsOfTokensNotReady(t *testing.T) {
	dir := t.TempDir()
	ca, _, err := localca.LoadOrCreate(dir, []string{"api.notion.com"})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("not-pem.txt", "hello\n")
	write("empty.token", " \n")
	write("good.token", "ntn_file_token\n")
	halfCA := filepath.Join(dir, "half-ca")
	if err := os.MkdirAll(halfCA, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(halfCA, localca.CertFile), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SET_TOKEN": "ntn_env_token"}
	getenv := func(k string) string { return env[k] }

	for _, tc := range []struct {
		desc          string
		yaml          string
		wantErr       string // "" = no error
		wantWarning   string // "" = no warning
		wantWarnStart string // the warning starts with this
	}{
		{desc: "a config whose files and variables exist passes",
			yaml: "upstream_ca: ca.pem\ntoken_file: good.token\n"},
		{desc: "an inline token and no upstream_ca pass",
			yaml: "token: ntn_inline\n"},
		{desc: "a set token_env passes",
			yaml: "token_env: SET_TOKEN\n"},
		{desc: "a missing upstream_ca is an error",
			yaml: "upstream_ca: missing.pem\ntoken: ntn_x\n", wantErr: "upstream_ca: open " + filepath.Join(dir, "missing.pem")},
		{desc: "an upstream_ca with no PEM certificate is an error",
			yaml: "upstream_ca: not-pem.txt\ntoken: ntn_x\n", wantErr: "holds no PEM certificate"},
		{desc: "a ca_dir with no CA yet passes: run creates one",
			yaml: "ca_dir: new-ca\ntoken: ntn_x\n"},
		{desc: "a ca_dir under a file is an error at its line",
			yaml: "token: ntn_x\nca_dir: good.token/ca\n", wantErr: "CONFIG:2: ca_dir: cannot create the CA in " +
				filepath.Join(dir, "good.token", "ca") + ": " + filepath.Join(dir, "good.token") + " is not a directory"},
		{desc: "a ca_dir holding half a CA is an error",
			yaml: "ca_dir: half-ca\ntoken: ntn_x\n", wantErr: "ca_dir: CA in " + halfCA + " is incomplete"},
		{desc: "a missing token_file is a warning naming the profile's line",
			yaml: "listen: 127.0.0.1:0\ntoken_file: missing.token\n", wantWarning: "does not exist",
			wantWarnStart: "CONFIG:2: profile default: token_file"},
		{desc: "a token_file in a missing directory is a warning that says how it can be seen",
			yaml: "token_file: nodir/token\n", wantWarning: "its directory " + filepath.Join(dir, "nodir") + " does not exist yet: the token is picked up when the directory and the file appear"},
		{desc: "an empty token_file is a warning",
			yaml: "token_file: empty.token\n", wantWarning: "is empty"},
		{desc: "an unset token_env is a warning that says a restart is needed",
			yaml: "token_env: UNSET_TOKEN\n", wantWarning: "UNSET_TOKEN is not set: its calls wait for a token (set UNSET_TOKEN and restart"},
		{desc: "a profile in a list is named with its line",
			yaml:        "profiles:\n  - name: work\n    token: ntn_x\n  - name: team\n    token_env: UNSET_TOKEN\n",
			wantWarning: "not set", wantWarnStart: "CONFIG:4: profile team:"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			path := filepath.Join(dir, "notion-proxy.yaml")
			cfg, err := config.Parse([]byte(tc.yaml), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			errs, warnings := Preflight(cfg, getenv)
			if got, want := joined(errs), strings.ReplaceAll(tc.wantErr, "CONFIG", path); !matches(got, want) {
				t.Errorf("errors %q, want %q", got, tc.wantErr)
			}
			got := joined(warnings)
			if !matches(got, tc.wantWarning) {
				t.Errorf("warnings %q, want %q", got, tc.wantWarning)
			}
			if start := strings.ReplaceAll(tc.wantWarnStart, "CONFIG", path); !strings.HasPrefix(got, start) {
				t.Errorf("warning %q does not start with %q", got, start)
			}
			if strings.Contains(got+joined(errs), "ntn_") {
				t.Errorf("a message holds a token: %q %q", got, joined(errs))
			}
			if len(errs) == 0 {
				// What Preflight passes, New serves.
				srv, err := New(cfg, ca, Options{Getenv: getenv})
				if err != nil {
					t.Fatalf("Preflight passed a config New refuses: %v", err)
				}
				_ = srv.Shutdown(context.Background())
			}
		})
	}
	// Checking that a CA can be created leaves nothing behind.
	if _, err := os.Stat(filepath.Join(dir, "new-ca")); !os.IsNotExist(err) {
		t.Errorf("Preflight created ca_dir new-ca: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".notion-proxy-check-*")); len(m) > 0 {
		t.Errorf("Preflight left %v", m)
	}
}

func joined(errs []error) string {
	var parts []string
	for _, e := range errs {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

// matches reports whether got is empty when want is, else contains it.
func matches(got, want string) bool {
	if want == "" {
		return got == ""
	}
	return strings.Contains(got, want)
}

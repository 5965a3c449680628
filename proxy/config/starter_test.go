package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestStarterConfig(t *testing.T) {
	data := StarterConfig()
	cfg := mustParse(t, string(data), nil)
	t.Run("it parses into one default profile with no token", func(t *testing.T) {
		if len(cfg.Profiles) != 1 || cfg.Profiles[0].Name != "default" || cfg.Profiles[0].HasTokenSource() {
			t.Errorf("profiles = %+v", cfg.Profiles)
		}
	})
	t.Run("its settings are the defaults", func(t *testing.T) {
		defaults := mustParse(t, "listen: 127.0.0.1:8787\n", nil)
		if !reflect.DeepEqual(cfg, defaults) {
			t.Errorf("starter config:\n%+v\ndefaults:\n%+v", cfg, defaults)
		}
	})
	t.Run("it has a commented-out token line to fill in", func(t *testing.T) {
		if !strings.Contains(string(data), "\n# token: ntn_...\n") {
			t.Errorf("no \"# token: ntn_...\" line:\n%s", data)
		}
	})
	t.Run("it tells the user to paste the token and save", func(t *testing.T) {
		for _, want := range []string{"paste", "save", "picks it up"} {
			if !strings.Contains(string(data), want) {
				t.Errorf("starter config does not say %q", want)
			}
		}
	})
	t.Run("each call returns a fresh copy", func(t *testing.T) {
		a := StarterConfig()
		a[0] = 'X'
		if StarterConfig()[0] == 'X' {
			t.Error("StarterConfig shares its bytes")
		}
	})
}

func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "config.example.yaml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	defaults := mustParse(t, "listen: 127.0.0.1:8787\n", nil)
	t.Run("the example parses to the defaults apart from its profile and paths", func(t *testing.T) {
		got := *cfg
		want := *defaults
		got.Path, got.CADir, got.Profiles = "", "", nil
		want.Path, want.CADir, want.Profiles = "", "", nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("example:\n%+v\ndefaults:\n%+v", got, want)
		}
	})
	t.Run("the example's ca_dir is beside it", func(t *testing.T) {
		if cfg.CADir != filepath.Dir(cfg.Path) {
			t.Errorf("CADir = %q, Path = %q", cfg.CADir, cfg.Path)
		}
	})
	t.Run("the example has one default profile reading NOTION_TOKEN", func(t *testing.T) {
		if len(cfg.Profiles) != 1 || cfg.Profiles[0].Name != "default" || cfg.Profiles[0].TokenEnv != "NOTION_TOKEN" {
			t.Errorf("profiles = %+v", cfg.Profiles)
		}
	})
	t.Run("the example documents every key", func(t *testing.T) {
		data, err := readFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{
			"listen:", "upstream:", "upstream_ca:", "ca_dir:", "notion_version:", "other_hosts:",
			"proxy_auth:", "admin_token:", "log:", "level:", "format:", "pause:", "timeout:",
			"max_queued:", "max_body_bytes:", "retry:", "rate_limited:", "max_wait:", "transient:",
			"rate_limit:", "rps:", "burst:", "profiles:", "name:", "token:", "token_file:",
			"token_env:", "token_command:", "oauth:", "client_id:", "client_secret:",
			"refresh_token:", "access_token:", "match:", "allowed_hosts:", "cors:", "allowed_origins:",
			"shared:", "redis:", "password_env:", "key_env:", "prefix:", "ca:",
		} {
			if !strings.Contains(data, key) {
				t.Errorf("config.example.yaml does not mention %s", key)
			}
		}
	})
}

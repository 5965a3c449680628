package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "np.yaml")
	if err := os.WriteFile(path, []byte("token: ntn_loaded\nca_dir: ca\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("a valid file loads with paths beside it", func(t *testing.T) {
		cfg, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Path != path || cfg.CADir != filepath.Join(dir, "ca") || cfg.Profiles[0].Token != "ntn_loaded" {
			t.Errorf("cfg = %+v", cfg)
		}
	})
	t.Run("the environment is expanded", func(t *testing.T) {
		p := filepath.Join(dir, "env.yaml")
		if err := os.WriteFile(p, []byte("token: ${NOTION_PROXY_TEST_TOKEN}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("NOTION_PROXY_TEST_TOKEN", "ntn_env")
		cfg, err := Load(p)
		if err != nil || cfg.Profiles[0].Token != "ntn_env" {
			t.Fatalf("Load = %+v, %v", cfg, err)
		}
	})
	t.Run("a missing file is fs.ErrNotExist, named once", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "missing.yaml"))
		missing := filepath.Join(dir, "missing.yaml")
		if !errors.Is(err, fs.ErrNotExist) || err.Error() != missing+": read config: no such file or directory" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("an invalid file is an *Error starting with file:line:, the file named once", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(bad, []byte("listen: 127.0.0.1:1\nbogus: 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(bad)
		var ce *Error
		if !errors.As(err, &ce) || ce.File != bad || ce.Line != 2 {
			t.Fatalf("err = %#v", err)
		}
		if want := bad + ":2: unknown key \"bogus\""; err.Error() != want {
			t.Errorf("err = %q\nwant  %q", err, want)
		}
	})
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  Error
		want string
	}{
		{"file and line read FILE:LINE: MSG", Error{File: "/c.yaml", Line: 3, Msg: "bad"}, "/c.yaml:3: bad"},
		{"without a line it reads FILE: MSG", Error{File: "/c.yaml", Msg: "config is empty"}, "/c.yaml: config is empty"},
		{"without a file it reads line LINE: MSG", Error{Line: 7, Msg: "bad"}, "line 7: bad"},
		{"with neither it is the message", Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

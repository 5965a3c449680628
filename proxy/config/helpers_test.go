package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testPath is the file name the tests pretend their YAML came from.
func testPath(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs(filepath.FromSlash("/etc/notion-proxy/notion-proxy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// envOf returns a getenv over a fixed map.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// mustParse parses src as if read from testPath and fails the test on error.
func mustParse(t *testing.T, src string, env map[string]string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(src), testPath(t), envOf(env))
	if err != nil {
		t.Fatalf("Parse: %v\n--- input ---\n%s", err, src)
	}
	return cfg
}

// parseError parses src, which must fail, and returns its *Error.
func parseError(t *testing.T, src string, env map[string]string) *Error {
	t.Helper()
	cfg, err := Parse([]byte(src), testPath(t), envOf(env))
	if err == nil {
		t.Fatalf("Parse succeeded (%+v), want an error\n--- input ---\n%s", cfg, src)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse error %T %v is not a *config.Error", err, err)
	}
	return ce
}

// wantParseError parses src, which must fail, and checks the error: at
// line, its message containing msg, naming the test's file, and showing
// no secret (every secret in these inputs contains "SECRET").
func wantParseError(t *testing.T, src string, env map[string]string, line int, msg string) {
	t.Helper()
	e := parseError(t, src, env)
	if e.Line != line {
		t.Errorf("Line = %d, want %d (%v)", e.Line, line, e)
	}
	if !strings.Contains(e.Msg, msg) {
		t.Errorf("Msg = %q, want it to contain %q", e.Msg, msg)
	}
	if e.File != testPath(t) {
		t.Errorf("File = %q, want %q", e.File, testPath(t))
	}
	if strings.Contains(e.Error(), "SECRET") {
		t.Errorf("error shows a secret: %v", e)
	}
}

// lines joins YAML lines with newlines, for readable inline documents.
func lines(ls ...string) string {
	return strings.Join(ls, "\n") + "\n"
}

// sourceProfiles is a profiles list with one profile for each token source:
// file, env, cmd, public (oauth) and inline, their source keys on lines 3,
// 5, 7, 9 and 11.
func sourceProfiles() string {
	return lines(
		"profiles:",
		"  - name: file",
		"    token_file: /run/secrets/notion",
		"  - name: env",
		"    token_env: NOTION_TOKEN",
		"  - name: cmd",
		"    token_command: [op, read, x]",
		"  - name: public",
		"    oauth: {client_id: a, client_secret: b, refresh_token: c}",
		"  - name: inline",
		"    token: ntn_x",
	)
}

// checkEditError checks that err, from an edit given secrets containing
// "SECRET", is a *Error on line whose message contains msg and no secret.
func checkEditError(t *testing.T, err error, line int, msg string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *config.Error", err)
	}
	if ce.Line != line || !strings.Contains(ce.Msg, msg) {
		t.Errorf("err = %q (line %d), want line %d and %q", ce.Msg, ce.Line, line, msg)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error shows a secret: %v", err)
	}
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

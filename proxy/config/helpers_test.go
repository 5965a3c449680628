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

// lines joins YAML lines with newlines, for readable inline documents.
func lines(ls ...string) string {
	return strings.Join(ls, "\n") + "\n"
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

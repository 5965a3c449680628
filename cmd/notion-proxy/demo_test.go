package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestDemoRepairsARevokedTokenAndExitsZero(t *testing.T) {
	defer goleak.VerifyNone(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo"}, strings.NewReader(""), &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	t.Logf("demo output:\n%s", out)

	summary := regexp.MustCompile(`(?m)^Summary: (\d+) calls, (\d+) succeeded, 0 errors; \d+ writes, each applied once$`)
	if m := summary.FindStringSubmatch(out); m == nil {
		t.Errorf("no summary line with 0 errors and every write applied once in:\n%s", out)
	} else if m[1] != m[2] {
		t.Errorf("summary: %s calls but %s succeeded", m[1], m[2])
	}
	for _, want := range []string{"calls waiting", "wrote a new token", "replayed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not tell that %q:\n%s", want, out)
		}
	}
	for _, tok := range []string{demoTokenA, demoTokenB} {
		if strings.Contains(out+stderr.String(), tok) {
			t.Errorf("the output shows a full token (only fingerprints may appear):\n%s", out)
		}
	}

	t.Run("the temporary directory is gone afterwards", func(t *testing.T) {
		m := regexp.MustCompile(`wrote a new token .* to (\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no config path in:\n%s", out)
		}
		if _, err := os.Stat(filepath.Dir(m[1])); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists (stat: %v)", filepath.Dir(m[1]), err)
		}
	})
}

func TestDemoRefusesArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"demo", "extra"}, strings.NewReader(""), &stdout, &stderr); code == 0 {
		t.Errorf("demo with an argument exited 0:\n%s", stdout.String())
	}
}

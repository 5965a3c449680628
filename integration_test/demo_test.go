package integration_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

func TestDemoExitsZeroWithTheSummary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "demo")
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	out := stdout.String()
	if err != nil {
		t.Fatalf("notion-proxy demo: %v (after %v)\nstdout:\n%s\nstderr:\n%s", err, time.Since(start), out, stderr.String())
	}
	t.Logf("demo ran in %v:\n%s", time.Since(start).Round(time.Millisecond), out)

	if !regexp.MustCompile(`(?m)^Summary: \d+ calls, \d+ succeeded, 0 errors; \d+ writes, each applied once$`).MatchString(out) {
		t.Errorf("no summary line with 0 errors and every write applied once:\n%s", out)
	}
	// Tokens appear only as fingerprints ("ntn_…AAAA #3f9c0e"), never whole.
	if tok := regexp.MustCompile(`(ntn|secret)_[A-Za-z0-9]{16,}`).FindString(out + stderr.String()); tok != "" {
		t.Errorf("the output shows a full token %q", tok)
	}
	if stderr.Len() > 0 {
		t.Errorf("the demo wrote to stderr (log noise?):\n%s", stderr.String())
	}
}

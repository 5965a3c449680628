package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// The herd's anchor: what a user has today without notion-proxy. The
// callers are concurrent async functions in one Node.js process
// (integration_test/js/herd.mjs), each with its own Client of the official
// SDK (@notionhq/client), going straight to the limited fake and retrying
// 429s the SDK's own way, with its defaults: up to 2 retries, each waiting
// out Retry-After, a 60 s timeout per request.

// herdSDKTimeout bounds one SDK row: with Retry-After in whole seconds of
// at most a window (2 s) and 2 retries per call, a row ends well before.
const herdSDKTimeout = 2 * time.Minute

// herdSDK is the node binary and the script that runs the SDK's callers.
type herdSDK struct {
	node, script string
}

// findHerdSDK finds node on $PATH and herd.mjs beside an installed
// @notionhq/client (cd integration_test/js && npm ci).
func findHerdSDK() (herdSDK, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return herdSDK{}, fmt.Errorf("the SDK rows need Node.js 20+ on $PATH: %w", err)
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return herdSDK{}, fmt.Errorf("finding the module root (go env GOMOD): %v", err)
	}
	dir := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "integration_test", "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@notionhq", "client", "package.json")); err != nil {
		return herdSDK{}, fmt.Errorf("the SDK rows need the official SDK installed: run `npm ci` in %s (%w)", dir, err)
	}
	return herdSDK{node: node, script: filepath.Join(dir, "herd.mjs")}, nil
}

// herdSDKOutput is herd.mjs's JSON line.
type herdSDKOutput struct {
	TotalMs    float64 `json:"total_ms"`
	Calls      int     `json:"calls"`
	Failed     int     `json:"failed"`
	FirstError string  `json:"first_error"`
}

// row sets the fake's limit afresh and runs the SDK's callers against it.
func (s herdSDK) row(o options, e *env, fake *fakenotion.Server, limit fakenotion.Limit) (herdResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), herdSDKTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.node, s.script, fake.URL(), e.token,
		strconv.Itoa(o.herdCallers), strconv.Itoa(o.herdCalls))
	cmd.Dir = filepath.Dir(s.script)
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+e.fakeCAPath,
		"HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY=", "https_proxy=", "http_proxy=", "no_proxy=")
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second

	fake.Reset()
	fake.SetLimit(limit)
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return herdResult{}, fmt.Errorf("herd.mjs did not finish within %s", herdSDKTimeout)
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return herdResult{}, fmt.Errorf("herd.mjs: %w (stdout %q)", err, out)
		}
		return herdResult{}, fmt.Errorf("running herd.mjs: %w", err)
	}
	var res herdSDKOutput
	if err := json.Unmarshal(out, &res); err != nil {
		return herdResult{}, fmt.Errorf("herd.mjs's output %q: %w", out, err)
	}
	return herdResult{
		total:   time.Duration(res.TotalMs * float64(time.Millisecond)),
		limited: fake.RateLimited(),
		sends:   len(fake.Requests()),
		failed:  res.Failed,
		first:   res.FirstError,
	}, nil
}

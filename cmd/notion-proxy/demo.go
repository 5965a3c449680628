package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/internal/atomicfile"
	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/proxy"
	"github.com/notion-proxy/notion-proxy/proxy/admin"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/localca"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// The demo's cast and pace. The tokens are made up: only the in-process fake
// Notion accepts them, and the demo only ever prints their fingerprints.
const (
	demoTokenA    = "ntn_demo4f7Qx2Lk9Wc3Rv8Tn1Hb6Jd0Ms5Yp2Ge7AAAA"
	demoTokenB    = "ntn_demo8k3Zr6Pw1Nq9Xf4Bt7Lc2Vh5Dj0Su3Em6BBBB"
	demoWorkers   = 3                     // client goroutines, one call in flight each
	demoDelay     = 30 * time.Millisecond // how long the fake Notion takes to answer
	demoThink     = 50 * time.Millisecond // a worker's pause between calls
	demoFirstCall = 8                     // calls that succeed before the revocation
	demoMoreCalls = 8                     // calls that succeed after the replay
	demoHumanTime = time.Second           // how long "a human" takes to write a new token
	demoStepLimit = 10 * time.Second      // a step that takes longer than this failed
)

// cmdDemo runs the demo (docs/design.md#the-command-line): a fake Notion, the proxy and a client on
// loopback; Notion revokes the token mid-run, a new one is written to the
// config, and the waiting calls are replayed. It fails (and so doubles as a
// smoke test) if any call failed or any write was not applied exactly once.
// Everything it starts is stopped, and its temporary directory removed,
// before it returns.
func cmdDemo(args []string, stdout io.Writer) (err error) {
	if len(args) > 0 {
		return errors.New("usage: notion-proxy demo (it takes no arguments)")
	}
	ctx, stop := signalContext()
	defer stop()
	defer func() {
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
	}()
	dir, err := os.MkdirTemp("", "notion-proxy-demo-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fake, err := fakenotion.Start(demoTokenA)
	if err != nil {
		return err
	}
	defer fake.Close()
	fake.SetDelay(demoDelay)
	cfg, err := writeDemoConfig(dir, fake)
	if err != nil {
		return err
	}
	ca, _, err := localca.LoadOrCreate(cfg.CADir, []string{rewrite.NotionHost})
	if err != nil {
		return err
	}
	// The proxy's own log stays quiet: the demo tells its own story.
	srv, err := proxy.New(cfg, ca, proxy.Options{Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchDone, err := srv.Watch(watchCtx, 0)
	if err != nil {
		stopWatch()
		return err
	}
	defer func() { stopWatch(); <-watchDone }()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	d := &demo{fake: fake, srv: srv, cfgPath: cfg.Path, baseURL: "http://" + ln.Addr().String(),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil}}}
	defer func() {
		// Client connections first: Shutdown waits for never-used ones.
		d.client.CloseIdleConnections()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if serr := errors.Join(srv.Shutdown(sctx), <-serveDone); serr != nil && err == nil {
			err = fmt.Errorf("stop the proxy: %w", serr)
		}
	}()
	fmt.Fprintln(stdout, "notion-proxy demo: a fake Notion, the proxy and a client, all on loopback")
	return d.run(ctx, stdout)
}

// writeDemoConfig writes a config for the proxy in front of fake into dir
// and loads it.
func writeDemoConfig(dir string, fake *fakenotion.Server) (*config.Config, error) {
	fakeCA := filepath.Join(dir, "fake-notion-ca.pem")
	if err := fake.WriteCA(fakeCA); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, config.DefaultPath)
	text := fmt.Sprintf("# notion-proxy demo: the proxy in front of a fake Notion.\n"+
		"listen: 127.0.0.1:0\nupstream: %q\nupstream_ca: %q\ntoken: %s\n", fake.URL(), fakeCA, demoTokenA)
	if err := atomicfile.Write(path, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("write demo config: %w", err)
	}
	return config.Load(path)
}

// demo is what the script and the client's workers share: the fake, the
// proxy, and the client's record of its calls.
type demo struct {
	fake    *fakenotion.Server
	srv     *proxy.Server
	cfgPath string
	baseURL string
	client  *http.Client

	next, ok atomic.Int64 // call numbers; calls answered 200
	stopping atomic.Bool  // the workers make no new call
	mu       sync.Mutex
	failures []string // why calls failed
	writes   []string // X-Test-Call-Id of every write answered 200
}

// run lets the workers call while the script plays, then checks the result.
func (d *demo) run(ctx context.Context, out io.Writer) error {
	callCtx, cancelCalls := context.WithCancel(ctx)
	defer cancelCalls()
	var wg sync.WaitGroup
	for range demoWorkers {
		wg.Go(func() { d.work(callCtx) })
	}
	err := d.script(ctx, out)
	if err != nil {
		cancelCalls() // calls still waiting for a token give up
	}
	d.stopping.Store(true)
	wg.Wait()
	if err != nil {
		return err
	}
	return d.summary(out)
}

// script is the story: calls succeed, Notion revokes the token, calls wait,
// a human writes a new token, the waiting calls are replayed.
func (d *demo) script(ctx context.Context, out io.Writer) error {
	if err := waitFor(ctx, "the first calls", func() bool { return d.ok.Load() >= demoFirstCall }); err != nil {
		return err
	}
	d.fake.Revoke(demoTokenA)
	fmt.Fprintf(out, "✓ %d calls ok with token %s\n", d.ok.Load(), rewrite.Fingerprint(demoTokenA))
	var paused admin.ProfileStatus
	if err := waitFor(ctx, "the calls to pause", func() bool {
		paused = d.srv.Status().Profiles[0]
		return paused.State == "paused" && paused.Waiting == demoWorkers
	}); err != nil {
		return err
	}
	d.mu.Lock()
	failed := len(d.failures)
	d.mu.Unlock()
	fmt.Fprintf(out, "✗ Notion revoked the token: %d calls waiting, %d failed\n", paused.Waiting, failed)
	fmt.Fprintln(out, "  … a human regenerates the token in Notion's settings")
	if err := waitFor(ctx, "a human", func() bool { return time.Since(*paused.PausedSince) >= demoHumanTime }); err != nil {
		return err
	}

	d.fake.AddToken(demoTokenB) // valid at Notion before anyone uses it
	data, err := os.ReadFile(d.cfgPath)
	if err == nil {
		data, err = config.SetToken(data, "", demoTokenB)
	}
	if err == nil { // like `token set`: a temporary file renamed over the config
		err = atomicfile.Write(d.cfgPath, data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("write the new token: %w", err)
	}
	fmt.Fprintf(out, "✎ wrote a new token %s to %s\n", rewrite.Fingerprint(demoTokenB), d.cfgPath)
	okBefore := d.ok.Load()
	if err := waitFor(ctx, "the waiting calls to be replayed", func() bool {
		return d.srv.Status().Profiles[0].State == "ok" && d.ok.Load() >= okBefore+int64(paused.Waiting)
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "✓ replayed %d waiting calls (paused %.1fs)\n", paused.Waiting, time.Since(*paused.PausedSince).Seconds())

	okReplayed := d.ok.Load()
	if err := waitFor(ctx, "more calls", func() bool { return d.ok.Load() >= okReplayed+demoMoreCalls }); err != nil {
		return err
	}
	fmt.Fprintf(out, "✓ %d more calls ok with token %s\n", d.ok.Load()-okReplayed, rewrite.Fingerprint(demoTokenB))
	return nil
}

// work makes calls one at a time, odd ones reads and even ones writes, until
// the demo stops, and records how each went.
func (d *demo) work(ctx context.Context) {
	for !d.stopping.Load() && ctx.Err() == nil {
		n := d.next.Add(1)
		id, write := fmt.Sprintf("demo-call-%d", n), n%2 == 0
		err := d.call(ctx, id, write)
		d.mu.Lock()
		switch {
		case err != nil && ctx.Err() == nil: // a call cut short by the demo's end is no failure
			d.failures = append(d.failures, id+": "+err.Error())
		case err == nil && write:
			d.writes = append(d.writes, id)
		}
		d.mu.Unlock()
		if err == nil {
			d.ok.Add(1)
		}
		time.Sleep(demoThink)
	}
}

// call makes one call through the proxy in base-URL mode: GET /v1/users/me,
// or POST /v1/pages when write. It sends no token: the proxy puts it on.
func (d *demo) call(ctx context.Context, id string, write bool) error {
	method, path, body := http.MethodGet, "/v1/users/me", ""
	if write {
		method, path = http.MethodPost, "/v1/pages"
		body = `{"parent":{"page_id":"9b4a8b3e-5c1d-4e2f-8a7b-1c2d3e4f5a6b"},` +
			`"properties":{"title":{"title":[{"text":{"content":"` + id + `"}}]}}}`
	}
	req, err := http.NewRequestWithContext(ctx, method, d.baseURL+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Test-Call-Id", id) // the fake's key for counting applied writes
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// summary prints the totals, checked against the fake Notion's own record,
// and returns an error if any call failed or any write was not applied
// exactly once.
func (d *demo) summary(out io.Writer) error {
	applied := d.fake.Applied()
	d.mu.Lock()
	defer d.mu.Unlock()
	wrong := 0
	for _, id := range d.writes {
		if applied[id] != 1 {
			wrong++
		}
		delete(applied, id)
	}
	wrong += len(applied) // applied, though the client never got its 200
	verdict := "each applied once"
	if wrong > 0 {
		verdict = fmt.Sprintf("%d NOT applied exactly once", wrong)
	}
	ok := d.ok.Load()
	fmt.Fprintf(out, "Summary: %d calls, %d succeeded, %d errors; %d writes, %s\n",
		ok+int64(len(d.failures)), ok, len(d.failures), len(d.writes), verdict)
	if len(d.failures) > 0 {
		return fmt.Errorf("%d calls failed; first: %s", len(d.failures), d.failures[0])
	}
	if wrong > 0 {
		return fmt.Errorf("%d writes were not applied exactly once", wrong)
	}
	return nil
}

// waitFor polls cond until it holds, ctx ends or demoStepLimit passes.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	for deadline := time.Now().Add(demoStepLimit); !cond(); time.Sleep(10 * time.Millisecond) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", demoStepLimit, what)
		}
	}
	return nil
}

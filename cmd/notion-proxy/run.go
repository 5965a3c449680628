package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/notion-proxy/notion-proxy/proxy"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/localca"
	"github.com/notion-proxy/notion-proxy/proxy/logbatch"
	"github.com/notion-proxy/notion-proxy/proxy/shared"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// cmdRun serves until SIGINT/SIGTERM.
func cmdRun(args []string, stdout, stderr io.Writer) error {
	c := newSubcommand("run", stdout)
	var poll time.Duration
	c.fs.Var(durationFlag{&poll}, "poll", "also check the config every `DURATION`, e.g. 2s (file systems without inotify)")
	if err := c.parse(args); err != nil {
		return err
	}
	configFile, _ := c.path()
	// Signals first: an early SIGHUP must reload, not kill.
	ctx, stop := signalContext()
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	path, err := filepath.Abs(configFile)
	if err != nil {
		return err
	}
	created, err := ensureConfig(path)
	if err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	problems, waiting := proxy.Preflight(cfg, os.Getenv)
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	// Log lines are batched: under load, one write for many calls' lines.
	out := logbatch.New(stderr)
	defer out.Close()
	logger, err := proxy.NewLogger(out, cfg.Log)
	if err != nil {
		return err
	}
	proxy.LogUnset(logger, cfg)
	ca, caCreated, err := localca.LoadOrCreate(cfg.CADir, []string{rewrite.NotionHost})
	if err != nil {
		return err
	}
	// Calls never wait for stderr: lines it cannot take are dropped and
	// counted, and one line says how many once it takes them again.
	out.OnRecover(func(dropped uint64) {
		logger.Warn().Uint64("dropped", dropped).
			Msg("log lines dropped: the log writer (stderr) did not keep up; calls went on")
	})
	// The Redis client of the shared mode logs process-wide: into our log.
	redis.SetLogger(shared.DriverLog{Log: logger})
	srv, err := proxy.New(cfg, ca, proxy.Options{Logger: logger, LogWriter: out})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone, err := srv.Watch(watchCtx, poll)
	if err != nil {
		ln.Close()
		return err
	}
	addr := ln.Addr().String()
	printWelcome(out, welcome{addr: addr, path: path, caPath: ca.CertPath, created: created,
		caCreated: caCreated, tokenless: tokenless(cfg), waiting: waiting})
	logger.Info().Str("addr", addr).Str("config", path).Str("ca", ca.CertPath).Msg("listening")

	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	for {
		select {
		case <-hup:
			logger.Info().Msg("SIGHUP: reloading config")
			_ = srv.Reload(true)
		case err := <-watchDone:
			if err != nil && ctx.Err() == nil {
				logger.Error().Err(err).Msg("config watch stopped: reload with SIGHUP or POST /-/reload")
			}
			watchDone = nil
		case err := <-serveDone:
			return err
		case <-ctx.Done():
			logger.Info().Int64("grace_ms", shutdownGrace.Milliseconds()).Msg("stopping: finishing calls in flight")
			sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				logger.Warn().Err(err).Msg("calls still in flight at the end of the grace period")
			}
			stopWatch()
			if err := <-serveDone; err != nil {
				return err
			}
			logger.Info().Msg("stopped")
			return nil
		}
	}
}

// ensureConfig writes the starter config when none exists at path.
func ensureConfig(path string) (bool, error) {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("create config directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("write starter config %s: %w", path, err)
	}
	if _, err := f.Write(config.StarterConfig()); err != nil {
		f.Close()
		return false, fmt.Errorf("write starter config %s: %w", path, err)
	}
	return true, f.Close()
}

// welcome is what the serving banner tells a human.
type welcome struct {
	addr, path, caPath string
	created, caCreated bool
	tokenless          []string // profiles with no token source at all
	waiting            []error  // token sources not ready (proxy.Preflight)
}

// tokenless names the profiles with no token source (the starter config's
// "default" until a token is written).
func tokenless(cfg *config.Config) []string {
	var names []string
	for _, p := range cfg.Profiles {
		if !p.HasTokenSource() {
			names = append(names, p.Name)
		}
	}
	return names
}

// printWelcome prints the banner: what was created, which calls wait for a
// token and how to give them one, and the three ways in.
func printWelcome(w io.Writer, b welcome) {
	addr := b.addr
	switch {
	case b.created:
		fmt.Fprintf(w, "\nWrote a starter config: %s\n"+
			"  Paste your integration's token at http://%s/-/, put it in the file (token: ntn_...), or run:\n"+
			"    notion-proxy token set --config %s < token.txt\n"+
			"  Calls wait until a token is there.\n", b.path, addr, b.path)
	case len(b.tokenless) > 0:
		fmt.Fprintf(w, "\nNo token yet for profile %s in %s: calls wait until one is written.\n"+
			"  Paste it at http://%s/-/, add it (token: ntn_...), or run:\n"+
			"    notion-proxy token set --config %s < token.txt\n",
			strings.Join(b.tokenless, ", "), b.path, addr, b.path)
	}
	for _, err := range b.waiting {
		fmt.Fprintf(w, "\n%v.\n", err)
	}
	if b.caCreated {
		fmt.Fprintf(w, "\nGenerated the local CA: %s (key beside it, mode 0600).\n", b.caPath)
	}
	fmt.Fprintf(w, "\nnotion-proxy is serving on http://%s\n"+
		"  base URL:     point your SDK at http://%s (e.g. new Client({ baseUrl: \"http://%s\" }))\n"+
		"  HTTPS proxy:  HTTPS_PROXY=http://%s, trusting %s (see: notion-proxy ca)\n"+
		"  HTTP proxy:   http_proxy=http://%s with http://%s/v1/... URLs\n"+
		"  status page:  http://%s/-/ (paste a new token there; `notion-proxy status` in a terminal)\n\n",
		addr, addr, addr, addr, b.caPath, addr, rewrite.NotionHost, addr)
}

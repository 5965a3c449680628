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
	"syscall"

	"github.com/notion-proxy/notion-proxy/proxy"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// cmdRun serves until SIGINT/SIGTERM.
func cmdRun(args []string, stderr io.Writer) error {
	fs, pathFlag := commonFlags("run")
	poll := fs.Duration("poll", 0, "also poll the config every DURATION (file systems without inotify)")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Signals first: an early SIGHUP must reload, not kill.
	ctx, stop := signalContext()
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	path, err := filepath.Abs(configPath(*pathFlag))
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
	// Log lines are batched: under load, one write for many calls' lines.
	out := proxy.NewBatchWriter(stderr)
	defer out.Close()
	logger, err := proxy.NewLogger(out, cfg.Log)
	if err != nil {
		return err
	}
	ca, caCreated, err := proxy.LoadOrCreateCA(cfg.CADir, []string{rewrite.NotionHost})
	if err != nil {
		return err
	}
	// Calls never wait for stderr: lines it cannot take are dropped and
	// counted, and one line says how many once it takes them again.
	out.OnRecover(func(dropped uint64) {
		logger.Warn().Uint64("dropped", dropped).
			Msg("log lines dropped: the log writer (stderr) did not keep up; calls went on")
	})
	srv, err := proxy.New(cfg, ca, proxy.Options{Logger: logger, LogWriter: out})
	if err != nil {
		logger.Warn().Err(err).Msg("some profiles have no usable token yet: their calls wait")
		if srv == nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone, err := srv.Watch(watchCtx, *poll)
	if err != nil {
		ln.Close()
		return err
	}
	addr := ln.Addr().String()
	printWelcome(out, addr, path, ca.CertPath, created, caCreated)
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
			logger.Info().Dur("grace", shutdownGrace).Msg("stopping: finishing calls in flight")
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

func printWelcome(w io.Writer, addr, path, caPath string, created, caCreated bool) {
	if created {
		fmt.Fprintf(w, "\nWrote a starter config: %s\n"+
			"  Put your integration's token in it (token: ntn_...), or run:\n"+
			"    notion-proxy token set --config %s < token.txt\n"+
			"  Calls wait until a token is there.\n", path, path)
	}
	if caCreated {
		fmt.Fprintf(w, "\nGenerated the local CA: %s (key beside it, mode 0600).\n", caPath)
	}
	fmt.Fprintf(w, "\nnotion-proxy is serving on http://%s\n"+
		"  base URL:     point your SDK at http://%s (e.g. new Client({ baseUrl: \"http://%s\" }))\n"+
		"  HTTPS proxy:  HTTPS_PROXY=http://%s, trusting %s (see: notion-proxy ca)\n"+
		"  HTTP proxy:   HTTP_PROXY=http://%s with http://%s/v1/... URLs\n\n",
		addr, addr, addr, addr, caPath, addr, rewrite.NotionHost)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/admin"
	"github.com/notion-proxy/notion-proxy/proxy/config"
)

// statusTimeout bounds how long `notion-proxy status` waits for the proxy.
const statusTimeout = 5 * time.Second

// cmdStatus prints the running proxy's summary and returns the exit code
// of admin.WriteSummary, or StatusExitUnreachable.
func cmdStatus(args []string, stdout, stderr io.Writer) int {
	c := newSubcommand("status", stdout)
	addrFlag := c.fs.String("addr", "", "host:port of the proxy (default: listen from the config)")
	if err := c.parse(args); err != nil {
		if errors.Is(err, errHelpShown) {
			return 0
		}
		fmt.Fprintf(stderr, "notion-proxy status: %v\n", err)
		return admin.StatusExitUnreachable
	}
	addr := *addrFlag
	if addr == "" {
		path, _ := c.path()
		listen, err := configListen(path)
		if err != nil {
			// The proxy may well be serving its last good config while
			// a person fixes this one: ask it all the same.
			fmt.Fprintf(stderr, "notion-proxy status: warning: %v (asking the proxy at listen %s)\n", err, listen)
		}
		if addr, err = admin.AdminAddr(listen); err != nil {
			fmt.Fprintf(stderr, "notion-proxy status: %v\n", err)
			return admin.StatusExitUnreachable
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	sum, err := admin.FetchSummary(ctx, client, addr)
	if err != nil {
		fmt.Fprintf(stderr, "notion-proxy status: %v\n", err)
		return admin.StatusExitUnreachable
	}
	return admin.WriteSummary(stdout, sum, time.Now())
}

// configListen returns the listen address of the config at path. When the
// file does not load, it is the top-level listen key alone
// (config.ListenOf), or config.DefaultListen for a file that cannot be
// read, together with the load error.
func configListen(path string) (string, error) {
	cfg, err := config.Load(path)
	if err == nil {
		return cfg.Listen, nil
	}
	data, rerr := os.ReadFile(path)
	if rerr != nil {
		return config.DefaultListen, err
	}
	return config.ListenOf(data, os.Getenv), err
}

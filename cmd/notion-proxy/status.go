package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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
		cfg, err := config.Load(path)
		if err != nil {
			fmt.Fprintf(stderr, "notion-proxy status: %v\n", err)
			return admin.StatusExitUnreachable
		}
		if addr, err = admin.AdminAddr(cfg.Listen); err != nil {
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

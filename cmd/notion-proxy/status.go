package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy"
	"github.com/notion-proxy/notion-proxy/proxy/config"
)

// statusTimeout bounds how long `notion-proxy status` waits for the proxy.
const statusTimeout = 5 * time.Second

// cmdStatus prints the running proxy's summary and returns the exit code
// of proxy.WriteSummary, or StatusExitUnreachable.
func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs, pathFlag := commonFlags("status")
	addrFlag := fs.String("addr", "", "host:port of the proxy (default: listen from the config)")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return proxy.StatusExitUnreachable
	}
	addr := *addrFlag
	if addr == "" {
		cfg, err := config.Load(configPath(*pathFlag))
		if err != nil {
			fmt.Fprintf(stderr, "notion-proxy status: %v\n", err)
			return proxy.StatusExitUnreachable
		}
		if addr, err = proxy.AdminAddr(cfg.Listen); err != nil {
			fmt.Fprintf(stderr, "notion-proxy status: %v\n", err)
			return proxy.StatusExitUnreachable
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	sum, err := proxy.FetchSummary(ctx, client, addr)
	if err != nil {
		fmt.Fprintf(stderr, "notion-proxy status: %v\n", err)
		return proxy.StatusExitUnreachable
	}
	return proxy.WriteSummary(stdout, sum, time.Now())
}

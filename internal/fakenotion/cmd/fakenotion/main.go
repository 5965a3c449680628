// Command fakenotion runs the fake Notion API for scripts in other languages.
//
// It prints the fake's HTTPS base URL as the first line of stdout and the
// plain-HTTP control URL (see fakenotion.Server.ControlHandler) as the
// second, then serves until SIGINT or SIGTERM.
//
//	fakenotion -token ntn_a -token ntn_b -ca-out /tmp/fake-ca.pem
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// tokenList is a repeatable string flag.
type tokenList []string

func (l *tokenList) String() string     { return strings.Join(*l, ",") }
func (l *tokenList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakenotion:", err)
		os.Exit(1)
	}
}

func run() error {
	var tokens tokenList
	flag.Var(&tokens, "token", "a valid Bearer token (repeatable)")
	caOut := flag.String("ca-out", "", "write the fake's CA certificate (PEM) to this path")
	controlAddr := flag.String("control", "127.0.0.1:0", "listen address of the plain-HTTP control endpoints")
	clientID := flag.String("oauth-client-id", "", "enable OAuth with this client id")
	clientSecret := flag.String("oauth-client-secret", "", "OAuth client secret")
	refreshToken := flag.String("oauth-refresh-token", "", "OAuth refresh token valid at start")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fake, err := fakenotion.Start(tokens...)
	if err != nil {
		return err
	}
	defer fake.Close()
	if *clientID != "" {
		fake.EnableOAuth(*clientID, *clientSecret, *refreshToken)
	}
	if *caOut != "" {
		if err := fake.WriteCA(*caOut); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", *controlAddr)
	if err != nil {
		return fmt.Errorf("listen for control on %s: %w", *controlAddr, err)
	}
	control := &http.Server{Handler: fake.ControlHandler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- control.Serve(ln) }()

	fmt.Println(fake.URL())
	fmt.Println("http://" + ln.Addr().String())

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("control server: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := control.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop control server: %w", err)
	}
	return fake.Close()
}

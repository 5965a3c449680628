package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/localca"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// BenchmarkCall measures one GET through the server, in-process, against
// the fake Notion over TLS, in each of the three ways in, and direct to the
// fake for reference. allocs/op and B/op count the whole process (callers
// and fake included): the proxy's own share is the difference from the
// direct case. Calls are logged at info, to a discarding writer, so the
// log line is part of the cost as in real use.
//
//	go test ./proxy -run '^$' -bench Call -benchmem -cpuprofile cpu.out
func BenchmarkCall(b *testing.B) {
	const token = "ntn_bench_0123456789abcdefghijklmnopqrstuvwxyzAB"
	fake, srv, ln := serveAgainstFake(b, zerolog.InfoLevel, token)
	ca := srv.ways.ca
	fakeRoots := x509.NewCertPool()
	fakeRoots.AppendCertsFromPEM(fake.CAPEM())
	proxyRoots := x509.NewCertPool()
	proxyRoots.AddCert(ca.Certificate())
	proxyURL := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	for _, way := range []struct {
		name     string
		url      string
		proxy    *url.URL
		roots    *x509.CertPool
		bearer   string
		newConns bool // a new connection (and TLS handshake) per call
	}{
		{"direct to the fake", fake.URL() + "/v1/users/me", nil, fakeRoots, token, false},
		{"base URL", "http://" + ln.Addr().String() + "/v1/users/me", nil, nil, "", false},
		{"plain-HTTP forward", "http://api.notion.com/v1/users/me", proxyURL, nil, "", false},
		{"HTTPS forward", "https://api.notion.com/v1/users/me", proxyURL, proxyRoots, "", false},
		{"direct to the fake, new connection per call", fake.URL() + "/v1/users/me", nil, fakeRoots, token, true},
		{"HTTPS forward, new connection per call", "https://api.notion.com/v1/users/me", proxyURL, proxyRoots, "", true},
	} {
		b.Run(way.name, func(b *testing.B) {
			tr := &http.Transport{
				Proxy:               http.ProxyURL(way.proxy),
				TLSClientConfig:     &tls.Config{RootCAs: way.roots, MinVersion: tls.VersionTLS12},
				MaxIdleConnsPerHost: 64,
				DisableKeepAlives:   way.newConns,
				DisableCompression:  true,
			}
			if way.proxy == nil {
				tr.Proxy = nil
			}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, way.url, nil)
					req.Header.Set("Notion-Version", "2022-06-28")
					if way.bearer != "" {
						req.Header.Set("Authorization", "Bearer "+way.bearer)
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("HTTP %d", resp.StatusCode)
						return
					}
				}
			})
			b.StopTimer()
			fake.Reset() // the fake keeps a record of every call
		})
	}
}

// serveAgainstFake starts a fake Notion accepting tokens and a Server on
// 127.0.0.1:0 that uses the first token, logging at level to nowhere. Both
// stop when tb ends.
func serveAgainstFake(tb testing.TB, level zerolog.Level, tokens ...string) (*fakenotion.Server, *Server, net.Listener) {
	tb.Helper()
	fake, err := fakenotion.Start(tokens...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { fake.Close() })
	dir := tb.TempDir()
	caPath := filepath.Join(dir, "fake-ca.pem")
	if err := fake.WriteCA(caPath); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "notion-proxy.yaml")
	cfgText := fmt.Sprintf("listen: 127.0.0.1:0\nupstream: %s\nupstream_ca: %s\ntoken: %s\n", fake.URL(), caPath, tokens[0])
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		tb.Fatal(err)
	}
	srv := newServerAt(tb, path, Options{Logger: zerolog.New(io.Discard).Level(level)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-serveDone
	})
	return fake, srv, ln
}

// newServerAt builds a Server from the config at path, with a local CA
// in the config's directory. It does not listen.
func newServerAt(tb testing.TB, path string, opts Options) *Server {
	tb.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	ca, _, err := localca.LoadOrCreate(filepath.Dir(path), []string{rewrite.NotionHost})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := New(cfg, ca, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return srv
}

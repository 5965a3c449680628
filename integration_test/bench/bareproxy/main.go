// Command bareproxy is the simplest intercepting proxy a user could write
// with github.com/elazarl/goproxy instead of running notion-proxy: every
// CONNECT is intercepted (AlwaysMitm-style, with a CA of its own), and an
// OnRequest handler sends each call to the upstream with a fixed
// Authorization header. No token reloads, no pause, no retries, no logs.
//
// It exists only as a point of comparison for the benchmark in the parent
// directory, which builds and starts it:
//
//	bareproxy -upstream 127.0.0.1:PORT -upstream-ca fake-ca.pem -token ntn_x -ca-out ca.pem
//
// It prints "listening ADDR" on stdout once it serves.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/elazarl/goproxy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	upstream := flag.String("upstream", "", "host:port every intercepted call is sent to (over TLS)")
	upstreamCA := flag.String("upstream-ca", "", "PEM bundle trusted for the upstream")
	token := flag.String("token", "", "token put on every call as Authorization: Bearer")
	caOut := flag.String("ca-out", "", "write the proxy's CA certificate (PEM) here")
	cache := flag.Bool("cache", true, "cache leaf certificates per host (goproxy's CertStore)")
	flag.Parse()
	if *upstream == "" || *token == "" || *caOut == "" {
		return errors.New("-upstream, -token and -ca-out are required")
	}

	ca, err := newCA()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*caOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate[0]}), 0o644); err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if *upstreamCA != "" {
		data, err := os.ReadFile(*upstreamCA)
		if err != nil {
			return err
		}
		roots.AppendCertsFromPEM(data)
	}

	p := goproxy.NewProxyHttpServer()
	p.Logger = log.New(os.Stderr, "", 0)
	// The same upstream pool as notion-proxy, so that the comparison is
	// between the proxies, not between connection pool defaults.
	p.Tr = &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	if *cache {
		p.CertStore = &certCache{certs: map[string]*tls.Certificate{}}
	}
	mitm := &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: goproxy.TLSConfigFromCA(&ca)}
	p.OnRequest().HandleConnectFunc(func(host string, _ *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		return mitm, host
	})
	bearer := "Bearer " + *token
	p.OnRequest().DoFunc(func(r *http.Request, _ *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		r.URL.Scheme, r.URL.Host = "https", *upstream
		r.Header.Set("Authorization", bearer)
		return r, nil
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	return http.Serve(ln, p)
}

// newCA makes an ECDSA P-256 CA, like notion-proxy's, in memory.
func newCA() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "bareproxy CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// certCache is the per-host leaf cache goproxy's README recommends.
type certCache struct {
	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

func (c *certCache) Fetch(host string, gen func() (*tls.Certificate, error)) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert, ok := c.certs[host]; ok {
		return cert, nil
	}
	cert, err := gen()
	if err != nil {
		return nil, err
	}
	c.certs[host] = cert
	return cert, nil
}

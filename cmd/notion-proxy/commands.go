package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/notion-proxy/notion-proxy/proxy"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// cmdCheck validates the config.
func cmdCheck(args []string, stdout io.Writer) error {
	fs, pathFlag := commonFlags("check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(configPath(*pathFlag))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d profile(s), listen %s, upstream %s)\n",
		cfg.Path, len(cfg.Profiles), cfg.Listen, cfg.Upstream)
	return nil
}

// cmdCA prints where the CA is and how to trust it.
func cmdCA(args []string, stdout io.Writer) error {
	fs, pathFlag := commonFlags("ca")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := filepath.Abs(configPath(*pathFlag))
	if err != nil {
		return err
	}
	caDir := filepath.Dir(path)
	listen := "127.0.0.1:8787"
	if cfg, err := config.Load(path); err == nil {
		caDir, listen = cfg.CADir, cfg.Listen
	}
	ca, created, err := proxy.LoadOrCreateCA(caDir, []string{rewrite.NotionHost})
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "Generated a new CA.\n")
	}
	p, proxyURL := ca.CertPath, "http://"+listen
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", listen, err)
	}
	fmt.Fprintf(stdout, `CA certificate: %[1]s
It may sign for %[3]s only (X.509 name constraints), so trusting it cannot
expose any other site.

Trust it and use the proxy for HTTPS:
  curl:    curl --proxy %[2]s --cacert %[1]s https://%[3]s/v1/users/me
  Node:    NODE_EXTRA_CA_CERTS=%[1]s  (with an undici ProxyAgent; see README)
  Python:  HTTPS_PROXY=%[2]s REQUESTS_CA_BUNDLE=%[1]s SSL_CERT_FILE=%[1]s python app.py
  Go:      HTTPS_PROXY=%[2]s SSL_CERT_FILE=%[1]s ./app   (Linux; or add it to tls.Config.RootCAs)
  Java:    keytool -importcert -noprompt -alias notion-proxy -file %[1]s -keystore proxy.jks -storepass changeit
           java -Djavax.net.ssl.trustStore=proxy.jks -Djavax.net.ssl.trustStorePassword=changeit \
                -Dhttps.proxyHost=%[4]s -Dhttps.proxyPort=%[5]s -jar app.jar
  System:  sudo cp %[1]s /usr/local/share/ca-certificates/notion-proxy.crt && sudo update-ca-certificates

No CA needed: base URL http://%[6]s, or plain HTTP_PROXY=%[2]s with http://%[3]s URLs.
`, p, proxyURL, rewrite.NotionHost, host, port, listen)
	return nil
}

// cmdTokenSet reads a token from stdin (never argv, where ps shows it) and
// writes it into the config atomically, comments and layout kept.
func cmdTokenSet(args []string, stdin io.Reader, stdout io.Writer) error {
	fs, pathFlag := commonFlags("token set")
	profile := fs.String("profile", "", "profile to set (default: the first)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := configPath(*pathFlag)
	raw, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		return fmt.Errorf("read token from stdin: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if proxy.CheckToken(token) != nil {
		return errors.New("stdin must hold exactly one token (no spaces)")
	}
	if err := proxy.SetTokenInFile(path, *profile, token, os.Getenv); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token %s written to %s\n", rewrite.Fingerprint(token), path)
	return nil
}

package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/notion-proxy/notion-proxy/proxy"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/localca"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// cmdCheck validates the config and what it names (proxy.Preflight, as run
// does). Problems go to stderr one a line, each starting with file:line:;
// ${NAME}s that read as empty and token sources that are not ready yet are
// warnings on stdout.
func cmdCheck(args []string, stdout, stderr io.Writer) error {
	c := newSubcommand("check", stdout)
	if err := c.parse(args); err != nil {
		return err
	}
	path, _ := c.path()
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errReported
	}
	for _, u := range cfg.Unset {
		fmt.Fprintf(stdout, "warning: %s:%d: %s\n", cfg.Path, u.Line, u.Warning())
	}
	problems, waiting := proxy.Preflight(cfg, os.Getenv)
	for _, w := range waiting {
		fmt.Fprintf(stdout, "warning: %v\n", w)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		return errReported
	}
	fmt.Fprintf(stdout, "%s: ok (%d profile(s), listen %s, upstream %s)\n",
		cfg.Path, len(cfg.Profiles), cfg.Listen, cfg.Upstream)
	return nil
}

// cmdCA prints where the CA is and how to trust it, creating it where run
// would.
func cmdCA(args []string, stdout io.Writer) error {
	c := newSubcommand("ca", stdout)
	if err := c.parse(args); err != nil {
		return err
	}
	path, why, err := c.absPath()
	if err != nil {
		return err
	}
	caDir := filepath.Dir(path)
	listen := "127.0.0.1:8787"
	cfg, err := config.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stdout, "No config at %s (%s).\n"+
			"The CA is kept in the directory of the config, %s, where `notion-proxy run`\n"+
			"with that config will find it (ca_dir in the config moves it).\n\n", path, why, caDir)
	case err != nil:
		return err
	default:
		caDir, listen = cfg.CADir, cfg.Listen
	}
	ca, created, err := localca.LoadOrCreate(caDir, []string{rewrite.NotionHost})
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "Generated a new CA in %s (the key, ca-key.pem, is mode 0600).\n", caDir)
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", listen, err)
	}
	printTrust(stdout, ca.CertPath, listen, host, port)
	return nil
}

// printTrust prints the CA's trust recipes. The Python and Java ones are
// README's ("Pointing programs at it"), with this CA's paths.
func printTrust(w io.Writer, caPath, listen, host, port string) {
	bundle := filepath.Join(filepath.Dir(caPath), "ca-bundle.pem")
	javaStore := filepath.Join(filepath.Dir(caPath), "java-cacerts")
	fmt.Fprintf(w, `CA certificate: %[1]s
It may sign for %[3]s only (X.509 name constraints), so trusting it cannot
expose any other site.

Trust it and use the proxy for HTTPS:
  curl:    curl --proxy %[2]s --cacert %[1]s https://%[3]s/v1/users/me
  Node:    NODE_EXTRA_CA_CERTS=%[1]s  (with an undici ProxyAgent; see README)
  Python:  REQUESTS_CA_BUNDLE and SSL_CERT_FILE replace the default roots: give them a bundle of
           those roots plus this CA, or calls to every other host fail:
             cat "$(python3 -m certifi)" %[1]s > %[7]s
             HTTPS_PROXY=%[2]s REQUESTS_CA_BUNDLE=%[7]s SSL_CERT_FILE=%[7]s python app.py
  Go:      SSL_CERT_FILE also replaces the system roots (Linux): the same kind of bundle,
             cat /etc/ssl/certs/ca-certificates.crt %[1]s > %[7]s
             HTTPS_PROXY=%[2]s SSL_CERT_FILE=%[7]s ./app   (or add the CA to tls.Config.RootCAs)
  Java:    javax.net.ssl.trustStore replaces the JDK's default roots: give it a copy of them
           (cacerts) with this CA added, or calls to every other host fail:
             cp "$JAVA_HOME/lib/security/cacerts" %[8]s
             keytool -importcert -noprompt -alias notion-proxy -file %[1]s -keystore %[8]s -storepass changeit
             java -Djavax.net.ssl.trustStore=%[8]s -Djavax.net.ssl.trustStorePassword=changeit \
                  -Dhttps.proxyHost=%[4]s -Dhttps.proxyPort=%[5]s -jar app.jar
  System:  sudo cp %[1]s /usr/local/share/ca-certificates/notion-proxy.crt && sudo update-ca-certificates

No CA needed: base URL http://%[6]s, or the plain-HTTP proxy with http://%[3]s URLs:
  http_proxy=%[2]s (lower case: curl ignores HTTP_PROXY in upper case).
`, caPath, "http://"+listen, rewrite.NotionHost, host, port, listen, bundle, javaStore)
}

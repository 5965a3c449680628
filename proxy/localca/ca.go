// Package localca is the proxy's own certificate authority: it is created
// once in a directory (the key mode 0600), may sign only the intercepted
// host names (X.509 name constraints), and mints the leaf certificates the
// proxy presents to programs whose CONNECT it terminates
// (docs/design.md#ways-in).
package localca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/atomicfile"
)

// CA file names inside the CA directory.
const (
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"
)

// CA is the proxy's local certificate authority. It signs the leaf
// certificates presented to programs whose CONNECT to an intercepted host is
// terminated by the proxy. Its certificate carries X.509 name constraints
// that permit only the intercepted host names, so a leaked key cannot be used
// to impersonate any other site. Leaf certificates are minted once per host
// and cached.
type CA struct {
	// CertPath and KeyPath are where the CA lives on disk.
	CertPath, KeyPath string

	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	hosts []string

	mu      sync.Mutex
	leaves  map[string]*tls.Certificate
	configs map[string]*tls.Config // ServerTLSConfig's, by host
}

// LoadOrCreate loads the CA from dir, or generates one there (ECDSA P-256,
// key file mode 0600) when none exists. hosts are the host names the CA may
// sign for. It reports whether the CA was created.
func LoadOrCreate(dir string, hosts []string) (*CA, bool, error) {
	ca := &CA{
		CertPath: filepath.Join(dir, CertFile),
		KeyPath:  filepath.Join(dir, KeyFile),
		hosts:    hosts,
		leaves:   make(map[string]*tls.Certificate),
		configs:  make(map[string]*tls.Config),
	}
	certPEM, certErr := os.ReadFile(ca.CertPath)
	keyPEM, keyErr := os.ReadFile(ca.KeyPath)
	switch {
	case certErr == nil && keyErr == nil:
		if err := ca.parse(certPEM, keyPEM); err != nil {
			return nil, false, fmt.Errorf("load CA from %s: %w", dir, err)
		}
		return ca, false, nil
	case errors.Is(certErr, os.ErrNotExist) && errors.Is(keyErr, os.ErrNotExist):
		if err := ca.generate(dir); err != nil {
			return nil, false, fmt.Errorf("create CA in %s: %w", dir, err)
		}
		return ca, true, nil
	case certErr != nil && !errors.Is(certErr, os.ErrNotExist):
		return nil, false, fmt.Errorf("read CA certificate: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, os.ErrNotExist):
		return nil, false, fmt.Errorf("read CA key: %w", keyErr)
	default:
		return nil, false, fmt.Errorf("CA in %s is incomplete: need both %s and %s (remove the other to regenerate)", dir, CertFile, KeyFile)
	}
}

// Certificate returns the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

func (ca *CA) parse(certPEM, keyPEM []byte) error {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return errors.New("ca.pem holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return fmt.Errorf("parse CA certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return errors.New("ca-key.pem holds no PEM key")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return fmt.Errorf("parse CA key: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return errors.New("CA key does not match CA certificate")
	}
	ca.cert, ca.key = cert, key
	return nil
}

func (ca *CA) generate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := randomSerial()
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "notion-proxy local CA", Organization: []string{"notion-proxy"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		// Name constraints: only the intercepted host names, and no IP
		// address at all.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         ca.hosts,
		ExcludedIPRanges: []*net.IPNet{
			{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)},
			{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		},
		SubjectKeyId: keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(ca.KeyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	if err := atomicfile.Write(ca.CertPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	ca.cert, ca.key = cert, key
	return nil
}

// Leaf returns the cached leaf certificate for host, minting it on first use.
// It refuses hosts outside the CA's name constraints.
func (ca *CA) Leaf(host string) (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leaves[host]; ok {
		return c, nil
	}
	if !ca.permits(host) {
		return nil, fmt.Errorf("CA may not sign for %q", host)
	}
	c, err := ca.mint(host)
	if err != nil {
		return nil, fmt.Errorf("mint leaf certificate for %s: %w", host, err)
	}
	ca.leaves[host] = c
	return c, nil
}

func (ca *CA) permits(host string) bool {
	for _, h := range ca.hosts {
		if h == host {
			return true
		}
	}
	return false
}

func (ca *CA) mint(host string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	notAfter := now.AddDate(0, 0, 90)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: host},
		DNSNames:       []string{host},
		NotBefore:      now.Add(-time.Hour),
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		AuthorityKeyId: ca.cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// ServerTLSConfig returns the TLS configuration presented to programs on an
// intercepted CONNECT to host. The certificate is chosen by SNI when the
// client sends one for a permitted host, else for host. The configuration
// is made once per host and shared by every connection (callers must not
// modify it): besides saving work per connection, that lets a program that
// keeps TLS sessions resume them on its next connection, skipping the
// certificate signature.
func (ca *CA) ServerTLSConfig(host string) *tls.Config {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.configs[host]; ok {
		return c
	}
	c := ca.newServerTLSConfig(host)
	ca.configs[host] = c
	return c
}

func (ca *CA) newServerTLSConfig(host string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName != "" && ca.permits(hello.ServerName) {
				return ca.Leaf(hello.ServerName)
			}
			return ca.Leaf(host)
		},
	}
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func keyID(pub *ecdsa.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return sum[:20]
}

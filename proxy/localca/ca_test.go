package localca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCAIsCreatedOnceWithAPrivateKey(t *testing.T) {
	dir := t.TempDir()
	ca, created, err := LoadOrCreate(dir, []string{"api.notion.com"})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	if _, ok := ca.Certificate().PublicKey.(*ecdsa.PublicKey); !ok {
		t.Error("CA key is not ECDSA")
	}
	if c := ca.Certificate().PublicKey.(*ecdsa.PublicKey).Curve; c != elliptic.P256() {
		t.Errorf("curve %v", c.Params().Name)
	}
	again, created, err := LoadOrCreate(dir, []string{"api.notion.com"})
	if err != nil || created {
		t.Fatalf("reload: created=%v err=%v", created, err)
	}
	if !again.Certificate().Equal(ca.Certificate()) {
		t.Error("a second start made a new CA")
	}
}

func TestCALeavesVerifyForNotionOnlyAndAreCached(t *testing.T) {
	ca, _, err := LoadOrCreate(t.TempDir(), []string{"api.notion.com"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Leaf("api.notion.com")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "api.notion.com", Roots: roots}); err != nil {
		t.Fatalf("leaf does not verify: %v", err)
	}
	again, _ := ca.Leaf("api.notion.com")
	if again != leaf {
		t.Error("leaf minted twice for the same host")
	}
	if _, err := ca.Leaf("www.example.com"); err == nil {
		t.Error("CA signed for a host outside its constraints")
	}

	t.Run("a leaked key cannot impersonate another site", func(t *testing.T) {
		// Sign a leaf for another host directly with the CA key, as an
		// attacker holding ca-key.pem would: verification must fail on
		// the name constraints.
		for _, host := range []string{"www.google.com", "notion.com", "evil.api.notion.com.attacker.net"} {
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
			if err != nil {
				t.Fatal(err)
			}
			forged, _ := x509.ParseCertificate(der)
			if _, err := forged.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err == nil {
				t.Errorf("a certificate for %s signed by the CA verified", host)
			}
		}
	})
}

func TestCAIncompleteDirIsAnError(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LoadOrCreate(dir, []string{"api.notion.com"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, KeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, []string{"api.notion.com"}); err == nil {
		t.Fatal("a CA without its key loaded")
	}
}

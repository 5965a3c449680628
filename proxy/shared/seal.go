package shared

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of the sealing key: AES-256.
const KeySize = 32

// LoadKey reads the sealing key from the environment variable name: the
// base64 (standard or URL alphabet, padded or not) of KeySize bytes. The
// errors say what to do and never show the value.
func LoadKey(getenv func(string) string, name string) ([]byte, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil, fmt.Errorf("shared mode needs a key: the environment variable %s is not set; "+
			"set it on every replica to the same base64 of %d random bytes (e.g. `head -c %d /dev/urandom | base64`)", name, KeySize, KeySize)
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(v); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("shared mode key %s is not base64: set it to the base64 of %d random bytes (e.g. `head -c %d /dev/urandom | base64`)", name, KeySize, KeySize)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("shared mode key %s decodes to %d bytes, want %d (e.g. `head -c %d /dev/urandom | base64`)", name, len(key), KeySize, KeySize)
	}
	return key, nil
}

// sealer seals token records and fingerprints tokens under one key.
type sealer struct {
	aead  cipher.AEAD
	fpKey []byte // HMAC key for fingerprints, derived from the sealing key
}

// secret is the plaintext of a sealed record.
type secret struct {
	Access  string `json:"a"`
	Refresh string `json:"r,omitempty"`
}

// errSeal is returned when a record cannot be opened: another key, or
// another profile's record.
var errSeal = errors.New("sealed token cannot be opened with this key (is the same key_env value set on every replica?)")

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("shared: the sealing key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("shared: sealing key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("shared: sealing key: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("notion-proxy fingerprint v1"))
	return &sealer{aead: aead, fpKey: mac.Sum(nil)}, nil
}

// additional binds a sealed record to its profile.
func additional(profile string) []byte {
	return []byte("notion-proxy token v1\x00" + profile)
}

// seal encrypts sec for profile: base64 of nonce || ciphertext.
func (s *sealer) seal(profile string, sec secret) (string, error) {
	plain, err := json.Marshal(sec)
	if err != nil {
		return "", fmt.Errorf("shared: seal: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("shared: seal: %w", err)
	}
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, additional(profile))), nil
}

// open decrypts a record sealed for profile.
func (s *sealer) open(profile, sealed string) (secret, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return secret{}, errSeal
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], additional(profile))
	if err != nil {
		return secret{}, errSeal
	}
	var sec secret
	if err := json.Unmarshal(plain, &sec); err != nil {
		return secret{}, errSeal
	}
	return sec, nil
}

// fingerprint names a token without revealing it: 24 hex digits of an
// HMAC under a key derived from the sealing key.
func (s *sealer) fingerprint(token string) string {
	mac := hmac.New(sha256.New, s.fpKey)
	mac.Write([]byte(token))
	return hex.EncodeToString(mac.Sum(nil)[:12])
}

// Fingerprint is the name under which the replicas speak of token (in
// Handlers.Rejected): equal tokens have equal fingerprints, and the
// fingerprint does not reveal the token.
func (s *Store) Fingerprint(token string) string { return s.seal.fingerprint(token) }

package rewrite

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// Credentials are what the program itself presented to the proxy. They
// select a profile (its match list) and authenticate to the proxy; they are
// never sent to Notion.
type Credentials struct {
	Bearer    string // token from "Authorization: Bearer X" (case-insensitive scheme), or ""
	ProxyUser string // user name from "Proxy-Authorization: Basic base64(user:pass)", or ""
	ProxyPass string // password from the same header, or ""
}

// IncomingCredentials extracts the program's Credentials from a request
// header.
//
// Bearer is the token of the first Authorization header when its scheme is
// "Bearer" in any letter case, followed by spaces or tabs and one token
// with no whitespace or control characters. ProxyUser and ProxyPass come
// from the first Proxy-Authorization header when its scheme is "Basic" in
// any letter case and its credentials are standard, padded base64 of
// "user:password" (split at the first colon). A missing or malformed header
// leaves its fields "". h is only read and may be nil.
func IncomingCredentials(h http.Header) Credentials {
	var c Credentials
	if token, ok := cutScheme(h.Get("Authorization"), "Bearer"); ok && isToken(token) {
		c.Bearer = token
	}
	if decoded, ok := basicCredentials(h); ok {
		if user, pass, ok := strings.Cut(decoded, ":"); ok {
			c.ProxyUser, c.ProxyPass = user, pass
		}
	}
	return c
}

// CheckProxyAuth reports whether h carries a Proxy-Authorization header
// with scheme Basic whose decoded "user:password" equals want. It compares
// SHA-256 digests of both in constant time, so its timing reveals neither
// the content nor the length of want. An empty want matches nothing:
// a caller that requires no proxy authentication should not call it. h is
// only read and may be nil.
func CheckProxyAuth(h http.Header, want string) bool {
	if want == "" {
		return false
	}
	got, ok := basicCredentials(h)
	if !ok {
		return false
	}
	gotSum := sha256.Sum256([]byte(got))
	wantSum := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(gotSum[:], wantSum[:]) == 1
}

// basicCredentials returns the decoded credentials of the first
// Proxy-Authorization header with scheme Basic.
func basicCredentials(h http.Header) (string, bool) {
	encoded, ok := cutScheme(h.Get("Proxy-Authorization"), "Basic")
	if !ok {
		return "", false
	}
	decoded, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", false
	}
	return string(decoded), true
}

// cutScheme splits an authorization header value "<scheme> <credentials>"
// when its scheme equals scheme ignoring case, returning the credentials
// with surrounding spaces and tabs removed. ok is false for another scheme
// or empty credentials.
func cutScheme(value, scheme string) (credentials string, ok bool) {
	value = strings.Trim(value, " \t")
	if len(value) <= len(scheme) || !strings.EqualFold(value[:len(scheme)], scheme) {
		return "", false
	}
	rest := value[len(scheme):]
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	credentials = strings.Trim(rest, " \t")
	return credentials, credentials != ""
}

// isToken reports whether s is non-empty and has no whitespace or ASCII
// control characters.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

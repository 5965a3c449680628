package rewrite

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Fingerprint names a token without revealing it, for logs and /-/status:
//
//	"<prefix>…<last4> #<hash>"
//
// for example "ntn_…a1b2 #3f9c0e". hash is the first 6 hex digits of the
// token's SHA-256. prefix is the token up to and including its first "_"
// when that is among its first 8 characters ("ntn_", "secret_"), else "".
// last4 is its last 4 characters, omitted for tokens shorter than 16
// characters ("ntn_… #3f9c0e"). A prefix or last4 that would contain
// whitespace, a control character, a non-ASCII character or invalid UTF-8 is
// omitted as well, so a fingerprint is always one printable ASCII word plus
// the "…". The empty token gives "(none)".
func Fingerprint(token string) string {
	if token == "" {
		return "(none)"
	}
	sum := sha256.Sum256([]byte(token))
	var b strings.Builder
	b.Grow(len("secret_…abcd #") + 6)
	if prefix := tokenPrefix(token); isPrintableASCII(prefix) {
		b.WriteString(prefix)
	}
	b.WriteString("…")
	if utf8.RuneCountInString(token) >= 16 {
		if last4 := lastRunes(token, 4); isPrintableASCII(last4) {
			b.WriteString(last4)
		}
	}
	b.WriteString(" #")
	b.WriteString(hex.EncodeToString(sum[:3]))
	return b.String()
}

// tokenPrefix returns token up to and including its first "_" when that is
// among its first 8 characters, else "".
func tokenPrefix(token string) string {
	chars := 0
	for i, r := range token {
		if chars == 8 {
			break
		}
		if r == '_' {
			return token[:i+1]
		}
		chars++
	}
	return ""
}

// lastRunes returns the last n characters of s.
func lastRunes(s string, n int) string {
	end := len(s)
	for ; n > 0 && end > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:end])
		end -= size
	}
	return s[end:]
}

// isPrintableASCII reports whether s has only printable, non-space ASCII.
func isPrintableASCII(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

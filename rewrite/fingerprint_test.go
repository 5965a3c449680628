package rewrite_test

import (
	"strings"
	"testing"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func TestFingerprint(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"an ntn_ token shows its prefix, last four and hash", "ntn_1234567890abcdefghijklmnopqrstuvwxyzABCDa1b2", "ntn_…a1b2 #81789a"},
		{"a secret_ token shows its prefix, last four and hash", "secret_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghi", "secret_…fghi #4abfc0"},
		{"a token without an underscore has no prefix", "abcdefghijklmnopqrstuvwxyz", "…wxyz #71c480"},
		{"an underscore past the eighth character is not a prefix", "longprefix_abcdefghijklmnop", "…mnop #65ea6d"},
		{"a leading underscore is a one-character prefix", "_leadingunderscore1234", "_…1234 #fcc983"},
		{"a token shorter than 16 characters hides its last four", "ntn_short", "ntn_… #4043ff"},
		{"a 15-character token hides its last four", "abcdefghijklmno", "… #41c776"},
		{"a 16-character token shows its last four", "abcdefghijklmnop", "…mnop #f39dac"},
		{"a one-character token shows only its hash", "x", "… #2d7116"},
		{"a prefix with a control character is not shown", "tok\nen_with_newline_abcdefgh", "…efgh #3073df"},
		{"non-ASCII characters count as one character each", "ntn_résumé_token_with_ünïcode", "ntn_…code #a0e126"},
		{"no token is named (none)", "", "(none)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.Fingerprint(tt.token); got != tt.want {
				t.Errorf("Fingerprint(%q) = %q, want %q", tt.token, got, tt.want)
			}
		})
	}
}

func TestFingerprintNeverContainsTheToken(t *testing.T) {
	for _, token := range []string{
		"ntn_1234567890abcdefghijklmnopqrstuvwxyzABCDa1b2",
		"secret_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghi",
		"ntn_short",
	} {
		if fp := rewrite.Fingerprint(token); strings.Contains(fp, token) {
			t.Errorf("Fingerprint(%q) = %q reveals the token", token, fp)
		}
	}
}

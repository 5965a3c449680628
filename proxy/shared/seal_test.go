package shared

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestLoadKey(t *testing.T) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i * 7)
	}
	tests := []struct {
		desc    string
		value   string
		wantErr string
	}{
		{"standard base64 is read", base64.StdEncoding.EncodeToString(key), ""},
		{"base64 without padding is read", base64.RawStdEncoding.EncodeToString(key), ""},
		{"URL-safe base64 is read", base64.URLEncoding.EncodeToString(key), ""},
		{"surrounding whitespace is ignored", " " + base64.StdEncoding.EncodeToString(key) + "\n", ""},
		{"an unset variable is refused, naming it", "", "NOTION_PROXY_SHARED_KEY is not set"},
		{"a value that is not base64 is refused", "not a key!", "is not base64"},
		{"a key of 16 bytes is refused with its size", base64.StdEncoding.EncodeToString(key[:16]), "decodes to 16 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := LoadKey(func(name string) string {
				if name == "NOTION_PROXY_SHARED_KEY" {
					return tt.value
				}
				return ""
			}, "NOTION_PROXY_SHARED_KEY")
			if tt.wantErr == "" {
				if err != nil || string(got) != string(key) {
					t.Fatalf("LoadKey = %x, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.value != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.value)) {
				t.Errorf("the error shows the value: %v", err)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	s, err := newSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newSealer([]byte(strings.Repeat("k", KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.seal("team-a", secret{Access: "ntn_access", Refresh: "refresh-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the same key and profile open it", func(t *testing.T) {
		got, err := s.open("team-a", sealed)
		if err != nil || got.Access != "ntn_access" || got.Refresh != "refresh-1" {
			t.Fatalf("open = %+v, %v", got, err)
		}
	})
	t.Run("another key cannot open it", func(t *testing.T) {
		if _, err := other.open("team-a", sealed); err == nil {
			t.Fatal("opened with another key")
		}
	})
	t.Run("another profile cannot open it", func(t *testing.T) {
		if _, err := s.open("team-b", sealed); err == nil {
			t.Fatal("opened as another profile")
		}
	})
	t.Run("the sealed text does not contain the token", func(t *testing.T) {
		raw, _ := base64.StdEncoding.DecodeString(sealed)
		if strings.Contains(string(raw), "ntn_access") || strings.Contains(sealed, "ntn_access") {
			t.Fatal("token in clear")
		}
	})
	t.Run("fingerprints are stable, distinct and keyed", func(t *testing.T) {
		a1, a2 := s.fingerprint("a"), s.fingerprint("a")
		if a1 != a2 || a1 == s.fingerprint("b") || a1 == other.fingerprint("a") {
			t.Fatal("fingerprint is not a keyed function of the token")
		}
	})
}

func TestNewRefusesBadOptions(t *testing.T) {
	tests := []struct {
		desc string
		opts Options
		want string
	}{
		{"a short key", Options{URL: "redis://127.0.0.1:1/0", Key: []byte("short")}, "want 32"},
		{"a URL that is not redis", Options{URL: "http://:SECRET@127.0.0.1:1/0", Key: testKey}, "not a valid redis"},
		{"a missing CA file", Options{URL: "rediss://127.0.0.1:1/0", Key: testKey, CAFile: "/nonexistent/ca.pem"}, "shared.ca"},
	}
	for _, tt := range tests {
		t.Run(tt.desc+" is refused", func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

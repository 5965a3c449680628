package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestWelcomeNamesTheStatusPage(t *testing.T) {
	tests := []struct {
		desc    string
		created bool
		want    []string
	}{
		{"a first run says where to paste the token", true,
			[]string{"Paste your integration's token at http://127.0.0.1:8787/-/", "status page:  http://127.0.0.1:8787/-/"}},
		{"a later run names the status page", false, []string{"status page:  http://127.0.0.1:8787/-/"}},
		{"a token-less config says where to paste the token", false,
			[]string{"No token yet for profile default", "Paste it at http://127.0.0.1:8787/-/"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out bytes.Buffer
			b := welcome{addr: "127.0.0.1:8787", path: "/c/notion-proxy.yaml", caPath: "/c/ca.pem", created: tt.created}
			if strings.Contains(tt.desc, "token-less") {
				b.tokenless = []string{"default"}
			}
			printWelcome(&out, b)
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("welcome lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

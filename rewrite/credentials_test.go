package rewrite_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func basic(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

func TestIncomingCredentials(t *testing.T) {
	tests := []struct {
		name          string
		authorization []string
		proxyAuth     []string
		want          rewrite.Credentials
	}{
		{"no headers give no credentials", nil, nil, rewrite.Credentials{}},
		{"a Bearer token is the program's token", []string{"Bearer ntn_placeholder"}, nil, rewrite.Credentials{Bearer: "ntn_placeholder"}},
		{"the Bearer scheme is matched in any case", []string{"bearer secret_abc"}, nil, rewrite.Credentials{Bearer: "secret_abc"}},
		{"an upper-case BEARER scheme is matched too", []string{"BEARER tok"}, nil, rewrite.Credentials{Bearer: "tok"}},
		{"several spaces after the scheme are allowed", []string{"Bearer   tok"}, nil, rewrite.Credentials{Bearer: "tok"}},
		{"a tab after the scheme is allowed", []string{"Bearer\ttok"}, nil, rewrite.Credentials{Bearer: "tok"}},
		{"trailing spaces after the token are ignored", []string{"Bearer tok  "}, nil, rewrite.Credentials{Bearer: "tok"}},
		{"a token68 with padding is kept whole", []string{"Bearer abc+/def=="}, nil, rewrite.Credentials{Bearer: "abc+/def=="}},
		{"the first Authorization header is the one used", []string{"Bearer first", "Bearer second"}, nil, rewrite.Credentials{Bearer: "first"}},
		{"a Bearer with no token gives no token", []string{"Bearer"}, nil, rewrite.Credentials{}},
		{"a Bearer with only spaces gives no token", []string{"Bearer   "}, nil, rewrite.Credentials{}},
		{"a token with a space inside is malformed", []string{"Bearer two words"}, nil, rewrite.Credentials{}},
		{"a token with a control character is malformed", []string{"Bearer tok\x00en"}, nil, rewrite.Credentials{}},
		{"a scheme glued to the token is malformed", []string{"Bearertok"}, nil, rewrite.Credentials{}},
		{"Basic client credentials are not a Bearer token", []string{basic("client:secret")}, nil, rewrite.Credentials{}},
		{"a bare token without a scheme is not a Bearer token", []string{"ntn_placeholder"}, nil, rewrite.Credentials{}},
		{"proxy Basic credentials give the proxy user and password", nil, []string{basic("alice:s3cret")}, rewrite.Credentials{ProxyUser: "alice", ProxyPass: "s3cret"}},
		{"the Basic scheme is matched in any case", nil, []string{"basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))}, rewrite.Credentials{ProxyUser: "alice", ProxyPass: "pw"}},
		{"a password may contain colons", nil, []string{basic("alice:a:b:c")}, rewrite.Credentials{ProxyUser: "alice", ProxyPass: "a:b:c"}},
		{"an empty password is kept empty", nil, []string{basic("alice:")}, rewrite.Credentials{ProxyUser: "alice"}},
		{"an empty user name is kept empty", nil, []string{basic(":pw")}, rewrite.Credentials{ProxyPass: "pw"}},
		{"proxy credentials without a colon are malformed", nil, []string{basic("alice")}, rewrite.Credentials{}},
		{"proxy credentials that are not base64 are malformed", nil, []string{"Basic !!!notbase64"}, rewrite.Credentials{}},
		{"proxy credentials missing their base64 padding are malformed", nil, []string{"Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice:pw"))}, rewrite.Credentials{}},
		{"a Bearer proxy authorization gives no proxy user", nil, []string{"Bearer tok"}, rewrite.Credentials{}},
		{"a Basic scheme with no credentials is malformed", nil, []string{"Basic"}, rewrite.Credentials{}},
		{"both headers together give both credentials", []string{"Bearer tok"}, []string{basic("alice:pw")}, rewrite.Credentials{Bearer: "tok", ProxyUser: "alice", ProxyPass: "pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.authorization != nil {
				h["Authorization"] = tt.authorization
			}
			if tt.proxyAuth != nil {
				h["Proxy-Authorization"] = tt.proxyAuth
			}
			if got := rewrite.IncomingCredentials(h); got != tt.want {
				t.Errorf("IncomingCredentials(%v) = %+v, want %+v", h, got, tt.want)
			}
		})
	}
}

func TestIncomingCredentialsOfANilHeaderAreEmpty(t *testing.T) {
	if got := rewrite.IncomingCredentials(nil); got != (rewrite.Credentials{}) {
		t.Errorf("IncomingCredentials(nil) = %+v, want none", got)
	}
}

func TestCheckProxyAuth(t *testing.T) {
	const want = "alice:s3cret"
	tests := []struct {
		name      string
		proxyAuth []string
		want      string
		ok        bool
	}{
		{"matching credentials are accepted", []string{basic(want)}, want, true},
		{"a lower-case basic scheme is accepted", []string{"basic " + base64.StdEncoding.EncodeToString([]byte(want))}, want, true},
		{"a wrong password is refused", []string{basic("alice:wrong")}, want, false},
		{"a wrong user is refused", []string{basic("bob:s3cret")}, want, false},
		{"a password that only starts like the right one is refused", []string{basic("alice:s3cretX")}, want, false},
		{"a prefix of the right credentials is refused", []string{basic("alice:s3cre")}, want, false},
		{"user names are case-sensitive", []string{basic("Alice:s3cret")}, want, false},
		{"no header is refused", nil, want, false},
		{"a Bearer scheme is refused", []string{"Bearer " + base64.StdEncoding.EncodeToString([]byte(want))}, want, false},
		{"credentials that are not base64 are refused", []string{"Basic " + want}, want, false},
		{"an empty expected value matches nothing", []string{basic("")}, "", false},
		{"an empty expected value matches nothing, not even a colon", []string{basic(":")}, "", false},
		{"only the first Proxy-Authorization header counts", []string{basic("bob:x"), basic(want)}, want, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.proxyAuth != nil {
				h["Proxy-Authorization"] = tt.proxyAuth
			}
			if got := rewrite.CheckProxyAuth(h, tt.want); got != tt.ok {
				t.Errorf("CheckProxyAuth(%v, %q) = %v, want %v", h, tt.want, got, tt.ok)
			}
		})
	}
}

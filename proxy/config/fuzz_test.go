package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fuzzEnv is the fixed environment of the fuzz targets.
func fuzzEnv(name string) string {
	switch name {
	case "NOTION_TOKEN":
		return "ntn_fuzz"
	case "PORT":
		return "8787"
	case "SPACE":
		return "a b"
	}
	return ""
}

// FuzzParse checks that Parse never panics, that every failure is an *Error,
// and that every success is a usable Config.
func FuzzParse(f *testing.F) {
	f.Add(StarterConfig())
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "/etc/np/config.yaml", fuzzEnv)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || ce.Msg == "" || ce.Line < 0 {
				t.Fatalf("error %T %q is not a proper *Error", err, err)
			}
			return
		}
		if len(cfg.Profiles) == 0 {
			t.Fatal("no profiles")
		}
		if cfg.Upstream == nil || cfg.Upstream.Host == "" || cfg.Upstream.Path != "" {
			t.Fatalf("bad upstream %v", cfg.Upstream)
		}
		if cfg.Pause.Timeout <= 0 || cfg.Pause.MaxQueued < 1 || cfg.Retry.MaxWait <= 0 || cfg.MaxBodyBytes < 1 {
			t.Fatalf("bad limits %+v %+v %d", cfg.Pause, cfg.Retry, cfg.MaxBodyBytes)
		}
		if cfg.RateLimit.RPS < 0 || cfg.RateLimit.Burst < 0 || (cfg.RateLimit.RPS > 0 && cfg.RateLimit.Burst < 1) {
			t.Fatalf("bad rate limit %+v", cfg.RateLimit)
		}
		if checkListen(cfg.Listen) != nil || (!isLoopback(cfg.Listen) && cfg.ProxyAuth == "") {
			t.Fatalf("bad listen %q (proxy_auth set: %v)", cfg.Listen, cfg.ProxyAuth != "")
		}
		names := map[string]bool{}
		for i, p := range cfg.Profiles {
			if p.Name == "" || names[p.Name] {
				t.Fatalf("profile %d has an empty or repeated name %q", i, p.Name)
			}
			names[p.Name] = true
			sources := 0
			for _, set := range []bool{p.Token != "", p.TokenFile != "", p.TokenEnv != "", len(p.TokenCommand) > 0, p.OAuth != nil} {
				if set {
					sources++
				}
			}
			implicit := len(cfg.Profiles) == 1 && p.Name == "default" && p.Line == 0
			if sources != 1 && !(implicit && sources == 0) {
				t.Fatalf("profile %q has %d token sources", p.Name, sources)
			}
			if p.Token != "" && secretProblem(p.Token) != "" {
				t.Fatalf("profile %q has an invalid token", p.Name)
			}
		}
	})
}

// FuzzSetToken checks that SetToken never panics, never shows the token in
// an error, and that on a config that parses it changes exactly the token.
func FuzzSetToken(f *testing.F) {
	f.Add(StarterConfig(), "", "ntn_new")
	f.Fuzz(checkSetToken)
}

// FuzzSetOAuthTokens checks that SetOAuthTokens never panics, never shows a
// token in an error, and that on a config that parses it changes exactly the
// two tokens of the profile's oauth.
func FuzzSetOAuthTokens(f *testing.F) {
	f.Add([]byte("oauth: {client_id: a, client_secret: b, refresh_token: c}\n"), "", "acc_new", "ref_new")
	f.Fuzz(checkSetOAuthTokens)
}

// awkwardTokens are tokens that are awkward to write in YAML.
func awkwardTokens() []string {
	return []string{"ntn_x", "a'b", "a\"b", "x${Y}", "#x", "-x", "null", "~", "é", "a:b", "a: b", "[x]",
		"{x}", "*x", "&x", "!x", "%x", "@x", "`x", "|x", ">x", "?x", ",x", "true", "0x10", "1e3", "$${", "\\"}
}

// TestSetTokenProperties runs FuzzSetToken's checks over layouts and tokens
// that are awkward for YAML.
func TestSetTokenProperties(t *testing.T) {
	layouts := map[string]string{
		"starter":            string(StarterConfig()),
		"shorthand plain":    "# c\ntoken: old # c\n",
		"shorthand double":   "token: \"old\"\n",
		"shorthand single":   "token: 'o''ld'\n",
		"shorthand flow":     "{token: old, listen: '127.0.0.1:1'}\n",
		"shorthand empty":    "token:\n# c\n",
		"shorthand tagged":   "token: !!str old\n",
		"shorthand block":    "token: >\n  old\n",
		"no hint":            "listen: 127.0.0.1:1",
		"flow top":           "{listen: '127.0.0.1:1'}",
		"crlf":               "# token: ntn_...\r\nlisten: 127.0.0.1:1\r\n",
		"bom":                "\xef\xbb\xbflisten: 127.0.0.1:1\n",
		"profiles":           "profiles:\n  - name: a\n    token: x\n  - name: b\n    token: \"y\"\n    match: [m]\n",
		"profiles flow":      "profiles: [{name: a, token: x}, {name: b, token: y}]\n",
		"flow no source":     "profiles: [{name: a, token: x}, {name: b, match: [m]}]\n",
		"profile no source":  "profiles:\n  - name: a\n    token: x\n  - match: [m]\n    name: b\n",
		"profile name alone": "profiles:\n- name: b\n- name: a\n  token: x",
	}
	for name, data := range layouts {
		for _, profile := range []string{"", "b"} {
			for _, tok := range awkwardTokens() {
				t.Run(name+" takes the token "+tok+" for profile "+profile, func(t *testing.T) {
					checkSetToken(t, []byte(data), profile, tok)
				})
			}
		}
	}
}

// TestSetOAuthTokensProperties runs FuzzSetOAuthTokens's checks over layouts
// and tokens that are awkward for YAML.
func TestSetOAuthTokensProperties(t *testing.T) {
	layouts := map[string]string{
		"block":               "# c\noauth:\n  client_id: a\n  client_secret: b # c\n  refresh_token: r # c\n",
		"block with access":   "oauth:\n  access_token: 'x'\n  refresh_token: \"r\"\n  client_id: a\n  client_secret: b\n",
		"block empty access":  "oauth:\n  client_id: a\n  client_secret: b\n  refresh_token: r\n  access_token:\n",
		"block comment after": "oauth:\n  refresh_token: r\n  # about the id\n  client_id: a\n  client_secret: b",
		"block env":           "oauth:\n  client_id: a\n  client_secret: ${NOTION_TOKEN}\n  refresh_token: ${NOTION_TOKEN}\n",
		"block scalar":        "oauth:\n  client_id: a\n  client_secret: b\n  refresh_token: >\n    r\n",
		"tagged":              "oauth:\n  client_id: a\n  client_secret: b\n  refresh_token: !!str r\n",
		"flow":                "oauth: {client_id: a, client_secret: b, refresh_token: r}  # c\n",
		"flow lines":          "oauth: {client_id: a,\n  refresh_token: 'r',\n  client_secret: b}\n",
		"flow top":            "{oauth: {client_id: a, client_secret: b, refresh_token: r}}",
		"crlf bom":            "\xef\xbb\xbfoauth:\r\n  client_id: a\r\n  client_secret: b\r\n  refresh_token: r\r\n",
		"profiles": "profiles:\n  - name: a\n    oauth:\n      client_id: a\n      client_secret: b\n      refresh_token: r\n" +
			"  - name: b\n    oauth:\n      client_id: a2\n      client_secret: b2\n      refresh_token: r2\n    match: [m]\n",
		"profiles flow": "profiles: [{name: a, oauth: {client_id: a, client_secret: b, refresh_token: r}}, " +
			"{name: b, oauth: {client_id: a, client_secret: b, refresh_token: r, access_token: x}}]\n",
		"not oauth": "profiles:\n  - name: a\n    token: x\n  - name: b\n    token_env: X\n",
		"starter":   string(StarterConfig()),
	}
	for name, data := range layouts {
		for _, profile := range []string{"", "b"} {
			for _, tok := range awkwardTokens() {
				t.Run(name+" takes the tokens "+tok+" for profile "+profile, func(t *testing.T) {
					checkSetOAuthTokens(t, []byte(data), profile, tok, tok+"_r")
					checkSetOAuthTokens(t, []byte(data), profile, "a"+tok, tok)
				})
			}
		}
	}
}

// checkSetToken is the body of FuzzSetToken.
func checkSetToken(t *testing.T, data []byte, profile, token string) {
	checkEdit(t, data, profile, []string{token},
		func(data []byte) ([]byte, error) { return SetToken(data, profile, token) },
		func(p *Profile) { p.Token = token })
}

// checkSetOAuthTokens is the body of FuzzSetOAuthTokens.
func checkSetOAuthTokens(t *testing.T, data []byte, profile, accessToken, refreshToken string) {
	checkEdit(t, data, profile, []string{accessToken, refreshToken},
		func(data []byte) ([]byte, error) { return SetOAuthTokens(data, profile, accessToken, refreshToken) },
		func(p *Profile) {
			if p.OAuth == nil {
				t.Fatalf("SetOAuthTokens succeeded on profile %q, which does not use oauth", p.Name)
			}
			p.OAuth.AccessToken, p.OAuth.RefreshToken = accessToken, refreshToken
		})
}

// checkEdit checks one edit of a config file that sets secrets in the named
// profile: it never modifies data, fails only with an *Error that shows none
// of the secrets, accepts only valid secrets, and on a config that parses
// changes exactly what apply changes in the parsed profile (and line numbers).
func checkEdit(t *testing.T, data []byte, profile string, secrets []string,
	edit func([]byte) ([]byte, error), apply func(*Profile)) {
	t.Helper()
	orig := string(data)
	out, err := edit(data)
	if string(data) != orig {
		t.Fatal("the edit modified its input")
	}
	if err != nil {
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("error %T %q is not an *Error", err, err)
		}
		for _, secret := range secrets {
			if len(secret) >= 6 && !strings.Contains(orig, secret) && !strings.Contains(profile, secret) &&
				strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q shows a secret", err)
			}
		}
		return
	}
	for _, secret := range secrets {
		if secretProblem(secret) != "" {
			t.Fatal("the edit accepted an invalid secret")
		}
	}
	if _, _, err := decodeDocument(out); err != nil {
		t.Fatalf("output does not decode: %v\n%s", err, out)
	}
	before, err := Parse(data, "/etc/np/config.yaml", fuzzEnv)
	if err != nil {
		return // nothing to compare with
	}
	after, err := Parse(out, "/etc/np/config.yaml", fuzzEnv)
	if err != nil {
		t.Fatalf("input parsed but output does not: %v\n--- in ---\n%s\n--- out ---\n%s", err, data, out)
	}
	target := -1
	for i, p := range before.Profiles {
		if (profile == "" && i == 0) || p.Name == profile {
			target = i
			break
		}
	}
	if target < 0 {
		return // the name matched only before ${} expansion
	}
	// Nothing but the secrets (and line numbers) may change.
	apply(&before.Profiles[target])
	for i := range before.Profiles {
		before.Profiles[i].Line = 0
	}
	for i := range after.Profiles {
		after.Profiles[i].Line = 0
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("config changed beyond the edit:\n--- in ---\n%s\n--- out ---\n%s", data, out)
	}
}

package integration_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// A token_file is checked like an inline token: a value that cannot go in
// a header (a control character, whitespace inside, nothing at all) is
// refused with a log line naming the file, and the profile keeps its last
// good token, so calls keep working instead of all getting 502. A config
// reload while the file is broken is applied, and its log line says which
// profile kept its token and why.
func TestBrokenTokenFileKeepsTheLastGoodToken(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(tokA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "notion-proxy.yaml")
	cfg := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) + "token_file: secret\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, cfgPath)
	if tokenSeen(t, p, fake) != tokA {
		t.Fatal("token_file not used")
	}
	for _, bad := range []struct{ desc, content, problem string }{
		{"a control character", tokB[:10] + "\x01" + tokB[10:] + "\n", "contains a control character"},
		{"whitespace inside", tokB[:10] + " " + tokB[10:] + "\n", "contains whitespace"},
		{"nothing", "\n", "is empty"},
	} {
		t.Run("a token_file holding "+bad.desc+" is refused", func(t *testing.T) {
			before := p.countLogs("token_file unusable")
			writeAtomic(t, secret, []byte(bad.content))
			testwait.Until(t, 10*time.Second, "the refusal in the log", func() bool {
				return p.countLogs("token_file unusable") > before
			})
			line := p.logsWith("token_file unusable")[before]
			if line["token_file"] != secret || !strings.Contains(line["error"].(string), bad.problem) ||
				!strings.Contains(line["error"].(string), secret) {
				t.Errorf("log line %v does not name the file and say it %s", line, bad.problem)
			}
			if got := tokenSeen(t, p, fake); got != tokA {
				t.Errorf("the call was sent with another token than the last good one")
			}
		})
	}
	t.Run("a config reload while the file is broken says what was applied", func(t *testing.T) {
		writeAtomic(t, secret, []byte(tokB[:10]+"\x7f"+tokB[10:]))
		writeAtomic(t, cfgPath, []byte(cfg+"retry: {max_wait: 7s}\n"))
		line := p.waitLog("config reloaded, except the tokens of profiles default", 10*time.Second)
		if !strings.Contains(line["not_applied.default"].(string), "contains a control character") {
			t.Errorf("log line %v does not say why the token was not applied", line)
		}
		if line["profile.default"] == "(none)" || line["profile.default"] == nil {
			t.Errorf("log line %v does not show the token kept", line)
		}
		if n := p.countLogs("config not reloaded"); n != 0 {
			t.Errorf("%d lines say the config was not reloaded although it was", n)
		}
		if got := tokenSeen(t, p, fake); got != tokA {
			t.Errorf("the call was sent with another token than the last good one")
		}
	})
	t.Run("a good token_file is used again", func(t *testing.T) {
		writeAtomic(t, secret, []byte(tokB+"\n"))
		testwait.Until(t, 10*time.Second, "the new token", func() bool { return tokenSeen(t, p, fake) == tokB })
	})
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

package proxy

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
)

// A send takes the config current at that moment, and only with the token
// that config holds: a ticket granted before a reload that changed the
// token is refused (the call takes a new one), so that a token never
// reaches an upstream it was not configured with.
func TestSendConfigPairsTokenAndUpstream(t *testing.T) {
	const oldTok, newTok = "ntn_sendcfg_old_0123456789abcdefghijklmno", "ntn_sendcfg_new_0123456789abcdefghijklmno"
	_, srv, _ := serveAgainstFake(t, zerolog.WarnLevel, oldTok)
	p := srv.profiles.get("default")
	c := &call{profile: p}
	oldHost := srv.runtime().cfg.Upstream.Host

	rt, err := srv.sendConfig(c, gate.Ticket{Token: oldTok})
	if err != nil || rt.cfg.Upstream.Host != oldHost {
		t.Fatalf("before the reload: %v, %v; want the current upstream", rt, err)
	}

	path := srv.runtime().cfg.Path
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(strings.Replace(string(data), oldHost, "127.0.0.2:9", 1), oldTok, newTok, 1)
	reload := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := srv.Reload(true); err != nil {
			t.Fatalf("reload: %v", err)
		}
	}
	reload(moved)
	if _, err := srv.sendConfig(c, gate.Ticket{Token: oldTok}); !errors.Is(err, errTokenChanged) {
		t.Errorf("the old token after a reload that changed it and the upstream: %v, want errTokenChanged", err)
	}
	if rt, err := srv.sendConfig(c, gate.Ticket{Token: newTok}); err != nil || rt.cfg.Upstream.Host != "127.0.0.2:9" {
		t.Errorf("the new token: %v, %v; want the new upstream", rt, err)
	}

	reload(strings.Replace(moved, "token: "+newTok, "profiles:\n  - name: other\n    token: "+newTok, 1))
	if _, err := srv.sendConfig(c, gate.Ticket{Token: newTok}); !errors.Is(err, gate.ErrProfileRemoved) {
		t.Errorf("a call of a removed profile: %v, want ErrProfileRemoved", err)
	}
}

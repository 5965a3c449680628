package integration_test

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// runStatus runs `notion-proxy status --config path` and returns its exit
// code, stdout and stderr.
func runStatus(t *testing.T, path string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(binary, "status", "--config", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run status: %v", err)
	}
	audit.addText(stdout.String() + stderr.String())
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func TestStatusCommandExitCodes(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\n", freePort(t)) + tokenConfig(fake, fakeCA, "", tokA)[len("listen: 127.0.0.1:0\n"):]
	p := startProxy(t, cfg)
	t.Run("an ok proxy exits 0", func(t *testing.T) {
		code, out, errOut := runStatus(t, p.cfgPath)
		if code != 0 || !strings.Contains(out, "profile default: OK") {
			t.Errorf("exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("a config being fixed is read for its listen alone, the proxy still answers", func(t *testing.T) {
		writeAtomic(t, p.cfgPath, []byte(cfg+"listne: x\n"))
		testwait.Until(t, 10*time.Second, "the reload to fail", func() bool { return p.status(t).LastReloadError != "" })
		code, out, errOut := runStatus(t, p.cfgPath)
		if code != 0 || !strings.Contains(out, "profile default: OK") || !strings.Contains(out, "the last reload failed") {
			t.Errorf("exit %d, want 0 and the failed reload\n%s%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "warning: "+p.cfgPath+":") || !strings.Contains(errOut, "unknown key") {
			t.Errorf("stderr does not warn of the config error: %s", errOut)
		}
	})
	t.Run("a paused profile exits 1 and says what to do", func(t *testing.T) {
		admin(t, p, "/-/revoke", "")
		code, out, errOut := runStatus(t, p.cfgPath)
		t.Logf("notion-proxy status:\n%s", out)
		if code != 1 {
			t.Errorf("exit %d, want 1\n%s%s", code, out, errOut)
		}
		for _, want := range []string{"profile default: PAUSED", "waiting: 0", "Regenerate", p.cfgPath, p.baseURL() + "/-/"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, tokA) {
			t.Errorf("output shows the token:\n%s", out)
		}
	})
	t.Run("a stopped proxy exits 2", func(t *testing.T) {
		p.stop()
		code, out, errOut := runStatus(t, p.cfgPath)
		if code != 2 || !strings.Contains(errOut, "no notion-proxy answers") {
			t.Errorf("exit %d, want 2\n%s%s", code, out, errOut)
		}
	})
}

// TestThePauseLineNamesThePage: the pause log line tells where the status
// page is (the first-run banner's is TestWelcomeNamesTheStatusPage in
// cmd/notion-proxy: a first run listens on the fixed default port).
func TestThePauseLineNamesThePage(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	admin(t, p, "/-/revoke", "")
	line := p.waitLog(pauseLine, 5*time.Second)
	if page := p.baseURL() + "/-/"; line["page"] != page || !strings.Contains(line["message"].(string), "paste it at "+page) {
		t.Errorf("the pause line does not name %s: %v", page, line)
	}
}

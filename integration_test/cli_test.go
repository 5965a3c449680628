package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// cli runs the binary in dir with args and stdin, with no config named by
// the environment, and returns its output and exit code.
func cli(t *testing.T, dir, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NOTION_PROXY_CONFIG=", "HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("notion-proxy %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// onlyFiles fails the test if dir holds other files than want.
func onlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("directory holds %v, want %v", got, want)
	}
}

func TestHelpListsTheCommandsAndExitsZero(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"run", "--help"}, {"check", "-h"},
		{"ca", "--help"}, {"token", "set", "--help"}, {"help", "run"}, {"demo", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, errOut, code := cli(t, dir, "", args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, want := range []string{"notion-proxy check [CONFIG]", "notion-proxy token set", "notion-proxy demo"} {
				if !strings.Contains(out, want) {
					t.Errorf("help lacks %q:\n%s", want, out)
				}
			}
			if args[0] == "run" || args[len(args)-1] == "run" {
				if !strings.Contains(out, "-poll DURATION") {
					t.Errorf("run's help lacks its flags:\n%s", out)
				}
			}
		})
	}
	onlyFiles(t, dir) // help writes no starter config
}

func TestCommandLineMistakesAreNamed(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "a.yaml", "b.yaml"}, "too many arguments"},
		{[]string{"check", "--config", "a.yaml", "b.yaml"}, "two config paths"},
		{[]string{"run", "--poll", "2", "a.yaml"}, "a duration needs a unit: 2s"},
		{[]string{"my.yaml"}, "notion-proxy run my.yaml"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, errOut, code := cli(t, dir, "", tc.args...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q, want 1 and %q", code, errOut, tc.want)
			}
		})
	}
	onlyFiles(t, dir)
}

func TestAPositionalConfigPathIsTheConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "my.yaml"), []byte("token: ntn_positional\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, dir, "", "check", "my.yaml")
	if code != 0 || !strings.Contains(out, filepath.Join(dir, "my.yaml")+": ok") {
		t.Fatalf("check my.yaml: exit %d\n%s%s", code, out, errOut)
	}
	path := filepath.Join(dir, "served.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:0\ntoken: ntn_positional\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyArgs(t, dir, path, []string{"run", path})
	if cfg, _ := p.waitLog("listening", time.Second)["config"].(string); cfg != path {
		t.Errorf("serving %q, want %q", cfg, path)
	}
	p.stop()
	onlyFiles(t, dir, "ca-key.pem", "ca.pem", "my.yaml", "served.yaml")
}

func TestCheckSharesRunsValidation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("not-pem.txt", "hello\n")
	write("afile", "a file, not a directory\n")
	type row struct {
		desc, yaml     string
		code           int
		stdout, stderr string // each must contain this ("" = must be empty)
		runLog         string // run's log must contain this
	}
	var linuxOnly []row
	if runtime.GOOS == "linux" {
		// /proc takes no new files, even from root.
		linuxOnly = append(linuxOnly, row{"a ca_dir where no file can be written is an error",
			"ca_dir: /proc/notion-proxy-test/ca\ntoken: ntn_x\n", 1, "",
			"CONFIG:1: ca_dir: cannot create the CA in /proc/notion-proxy-test/ca: open /proc/.notion-proxy-check-", ""})
	}
	for _, tc := range append([]row{
		{"a missing upstream_ca is an error", "upstream_ca: missing.pem\ntoken: ntn_x\n", 1, "",
			"CONFIG: upstream_ca: open " + filepath.Join(dir, "missing.pem") + ": no such file", ""},
		{"an upstream_ca with no certificate is an error", "upstream_ca: not-pem.txt\ntoken: ntn_x\n", 1, "",
			"CONFIG: upstream_ca " + filepath.Join(dir, "not-pem.txt") + " holds no PEM certificate", ""},
		{"a missing token_file is a warning", "listen: 127.0.0.1:0\ntoken_file: nope\n", 0,
			"warning: CONFIG:2: profile default: token_file " + filepath.Join(dir, "nope") + " does not exist", "", ""},
		{"an unset token_env is a warning", "token_env: NOTION_PROXY_TEST_UNSET\n", 0,
			"warning: CONFIG:1: profile default: token_env NOTION_PROXY_TEST_UNSET is not set", "", ""},
		{"a parse error starts with file:line:", "listen: 127.0.0.1:1\nbogus: 1\n", 1, "",
			"CONFIG:2: unknown key \"bogus\"\n", ""},
		{"a tab is explained at its line", "log:\n  level: info\n\tformat: json\n", 1, "",
			"CONFIG:3: invalid YAML: this line is indented with a tab", ""},
		{"an unset variable is named", "token: ${NOTION_PROXY_TEST_UNSET}\n", 1, "",
			"CONFIG:1: token is empty: ${NOTION_PROXY_TEST_UNSET} is not set", ""},
		{"every unset variable is a warning at its line",
			"listen: 127.0.0.1:0${NOTION_PROXY_TEST_UNSET}\nupstream: ${NOTION_PROXY_TEST_UNSET2}\ntoken: x${NOTION_PROXY_TEST_UNSET}\n", 0,
			"warning: CONFIG:1: listen: ${NOTION_PROXY_TEST_UNSET} is not set: it reads as empty\n" +
				"warning: CONFIG:2: upstream: ${NOTION_PROXY_TEST_UNSET2} is not set: it reads as empty\n" +
				"warning: CONFIG:3: token: ${NOTION_PROXY_TEST_UNSET} is not set: it reads as empty\n", "",
			`"line":2,"variable":"NOTION_PROXY_TEST_UNSET2","key":"upstream"`},
		{"a ca_dir that cannot be created is an error", "ca_dir: afile/ca\ntoken: ntn_x\n", 1, "",
			"CONFIG:1: ca_dir: cannot create the CA in " + filepath.Join(dir, "afile", "ca") + ": " +
				filepath.Join(dir, "afile") + " is not a directory", ""},
	}, linuxOnly...) {
		t.Run(tc.desc, func(t *testing.T) {
			if !strings.Contains(tc.yaml, "listen:") {
				tc.yaml += "listen: 127.0.0.1:0\n" // run needs a free port
			}
			path := write("check.yaml", tc.yaml)
			out, errOut, code := cli(t, dir, "", "check", path)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			for _, s := range []struct{ got, want, name string }{{out, tc.stdout, "stdout"}, {errOut, tc.stderr, "stderr"}} {
				want := strings.ReplaceAll(s.want, "CONFIG", path)
				if (want == "" && s.got != "" && s.name == "stderr") || !strings.Contains(s.got, want) {
					t.Errorf("%s %q, want it to contain %q", s.name, s.got, want)
				}
			}
			if tc.code == 1 && !strings.HasPrefix(errOut, path+":") {
				t.Errorf("the error does not start with the file: %q", errOut)
			}
			// check passes exactly the configs run serves.
			started, log := runStarts(t, dir, path)
			if started != (code == 0) {
				t.Errorf("check exited %d but run started=%v:\n%s", code, started, log)
			}
			if !strings.Contains(log, tc.runLog) {
				t.Errorf("run's log lacks %q:\n%s", tc.runLog, log)
			}
		})
	}
}

// runStarts runs `notion-proxy run` on the config at path and reports
// whether it started serving (then stops it) or exited first, with its log.
func runStarts(t *testing.T, dir, path string) (bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--config", path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NOTION_PROXY_CONFIG=", "HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	started := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !started && strings.Contains(sc.Text(), `"message":"listening"`) {
			started = true
			_ = cmd.Process.Signal(os.Interrupt)
		}
	}
	_ = cmd.Wait()
	return started, log.String()
}

func TestTokenSetRefusesAMissingConfig(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := cli(t, dir, tokA+"\n", "token", "set")
	want := filepath.Join(dir, "notion-proxy.yaml")
	if code != 1 || !strings.Contains(errOut, "no config at "+want) {
		t.Errorf("exit %d, stderr %q, want 1 naming %s", code, errOut, want)
	}
	onlyFiles(t, dir)
}

func TestCASaysWhereItIsWithNoConfig(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := cli(t, dir, "", "ca")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"No config at " + filepath.Join(dir, "notion-proxy.yaml"),
		"The CA is kept in the directory of the config, " + dir, "Generated a new CA in " + dir} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The Python and Java recipes are README's, with this CA's paths.
	commands := []string{"python3 -m certifi", "REQUESTS_CA_BUNDLE=",
		"$JAVA_HOME/lib/security/cacerts", "keytool ", "-Djavax.net.ssl.trustStore=", "-Dhttps.proxyHost="}
	found := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		for _, c := range commands {
			if !strings.Contains(line, c) {
				continue
			}
			found[c] = true
			line := strings.ReplaceAll(line, dir+"/", "")
			if !strings.Contains(string(readme), line) {
				t.Errorf("README lacks ca's line %q", line)
			}
		}
	}
	for _, c := range commands {
		if !found[c] {
			t.Errorf("ca prints no line with %q", c)
		}
	}
	// A truststore of ca.pem alone would refuse every other host.
	if strings.Contains(out, "proxy.jks") || !strings.Contains(out, `cp "$JAVA_HOME/lib/security/cacerts" `+filepath.Join(dir, "java-cacerts")) {
		t.Errorf("ca's Java recipe does not start from a copy of the JDK's cacerts:\n%s", out)
	}
}

func TestRestartWithNoTokenSaysHowToAddOne(t *testing.T) {
	p := startProxy(t, "log: {level: info}\n")
	banner := strings.Join(p.allLines(), "\n")
	for _, want := range []string{"No token yet for profile default", "calls wait", "notion-proxy token set --config " + p.cfgPath} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestTokenSetSaysWhenTheTokenWasRejected(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\n%stoken: %s\n", freePort(t), upstreamConfig(fake, fakeCA), tokA)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, path)

	out, errOut, code := cli(t, dir, tokA+"\n", "token", "set")
	if code != 0 || !strings.Contains(out, "is already the token of profile default") {
		t.Errorf("the same token, not rejected: exit %d\n%s%s", code, out, errOut)
	}
	if code, body, _ := do(t, p.baseClient(), "POST", p.baseURL()+"/-/revoke", nil, nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	out, errOut, code = cli(t, dir, tokA+"\n", "token", "set")
	if code != 1 || !strings.Contains(errOut, "was rejected by Notion") || !strings.Contains(errOut, "regenerate") {
		t.Errorf("the rejected token again: exit %d\n%s%s", code, out, errOut)
	}
	if data, _ := os.ReadFile(path); string(data) != cfg {
		t.Errorf("the config changed:\n%s", data)
	}
	p.stop()
	secretsIn(t, p, tokA)
}

// TestAReloadWarnsOfAnUnsetVariable: a ${NAME} that reads as empty in a
// config saved while the proxy runs is logged like one at start.
func TestAReloadWarnsOfAnUnsetVariable(t *testing.T) {
	p := startProxy(t, "token: ntn_reload\n")
	if n := p.countLogs("is not set: it reads as empty"); n != 0 {
		t.Fatalf("%d unset warnings at start, want none", n)
	}
	writeAtomic(t, p.cfgPath, []byte("listen: 127.0.0.1:0\ntoken: ntn_reload\nadmin_token: ${NOTION_PROXY_TEST_UNSET}\n"))
	line := p.waitLog("config: ${NOTION_PROXY_TEST_UNSET} is not set: it reads as empty", 10*time.Second)
	if line["line"] != float64(3) || line["key"] != "admin_token" || line["config"] != p.cfgPath {
		t.Errorf("warning %v, want line 3, key admin_token, config %s", line, p.cfgPath)
	}
}

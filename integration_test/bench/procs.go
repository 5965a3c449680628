package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux this runs on).
const clockTicks = 100

// procCPU returns the CPU time (user + system, all threads) the process pid
// has used so far.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it are
	// plain. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// selfCPU returns the CPU time this process (the load generator and the
// fake Notion) has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procRSS returns the resident set size of process pid (VmRSS).
func procRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// child is a process under test, its output going to a log file.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

// startChild starts argv with extra environment, stdout and stderr to
// logPath.
func startChild(name, logPath string, env []string, argv ...string) (*child, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), "HTTPS_PROXY=", "HTTP_PROXY=", "https_proxy=", "http_proxy=", "NO_PROXY="), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// waitOutput waits until the child's output has a line containing substr
// and returns that line.
func (c *child) waitOutput(substr string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		data, _ := os.ReadFile(c.logPath)
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, substr) {
				return line, nil
			}
		}
		select {
		case <-c.done:
			return "", fmt.Errorf("%s exited before printing %q:\n%s", c.name, substr, tail(data))
		default:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s did not print %q within %v:\n%s", c.name, substr, timeout, tail(data))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the child with SIGTERM (SIGKILL after 10 s).
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func tail(data []byte) string {
	const n = 2000
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until addr accepts TCP connections.
func waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %v: %w", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startProxyChild writes cfg into dir/notion-proxy.yaml, starts bin on it
// (its log in dir/log) and waits for its "listening" line: the child, and
// the address and CA path that line gives.
func startProxyChild(name, dir, bin, cfg string) (c *child, addr, ca string, err error) {
	cfgPath := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, "", "", err
	}
	c, err = startChild(name, filepath.Join(dir, "log"), nil, bin, "run", "--config", cfgPath)
	if err != nil {
		return nil, "", "", err
	}
	line, err := c.waitOutput(`"listening"`, 20*time.Second)
	if err != nil {
		c.stop()
		return nil, "", "", err
	}
	var l struct{ Addr, CA string }
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.Addr == "" {
		c.stop()
		return nil, "", "", fmt.Errorf("no address in %q", line)
	}
	return c, l.Addr, l.CA, nil
}

// drain reads an answer whole and closes it: an error unless it is a 200.
func drain(resp *http.Response) error {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// runCallers runs o.herdCallers callers, each sending o.herdCalls calls
// to t one after the other: how long they all took, how many calls
// failed, and the first failure.
func runCallers(o options, client *http.Client, t target) (elapsed time.Duration, failed int, first string) {
	var nFailed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range o.herdCallers {
		wg.Go(func() {
			for range o.herdCalls {
				resp, err := client.Do(t.newRequest(context.Background()))
				if err == nil {
					err = drain(resp)
				}
				if err != nil {
					nFailed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	first, _ = firstErr.Load().(string)
	return time.Since(start), int(nFailed.Load()), first
}

// Package redistest runs a real redis-server for tests of the shared
// mode (docs/design.md#many-replicas): on a
// free loopback port, without persistence, stopped when the test ends. A
// missing redis-server fails the test (never skips): install Debian's
// redis-server package (.ci/run does).
package redistest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startWait bounds how long a starting server may take to answer PING.
const startWait = 10 * time.Second

// Server is one redis-server process. Kill and Restart keep its port.
type Server struct {
	t     testing.TB
	port  int
	extra []string
	tls   bool

	mu  sync.Mutex
	cmd *exec.Cmd
	out *bytes.Buffer
}

// Start runs redis-server on a free 127.0.0.1 port with --save "" and
// --appendonly no, plus extra arguments (e.g. "--requirepass", "pw"), and
// waits until it answers. The server is killed when the test ends.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not found on PATH (%v): the shared-state tests need a real Redis; install Debian's redis-server package (apt-get install -y redis-server)", err)
	}
	s := &Server{t: t, port: freePort(t), extra: extra}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// StartTLS runs redis-server with TLS only (no plain port), serving the
// certificate and key in the given PEM files and asking no client
// certificate. Its URL is rediss://.
func StartTLS(t testing.TB, certFile, keyFile string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server not found on PATH (%v): the shared-state tests need a real Redis; install Debian's redis-server package (apt-get install -y redis-server)", err)
	}
	s := &Server{t: t, tls: true}
	s.port = freePort(t)
	s.extra = []string{"--port", "0", "--tls-port", strconv.Itoa(s.port),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-auth-clients", "no"}
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// freePort finds a loopback port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the redis:// (rediss:// with TLS) URL of database 0, with
// password if given.
func (s *Server) URL(password string) string {
	scheme := "redis://"
	if s.tls {
		scheme = "rediss://"
	}
	if password != "" {
		return scheme + ":" + password + "@" + s.Addr() + "/0"
	}
	return scheme + s.Addr() + "/0"
}

func (s *Server) start() {
	s.t.Helper()
	// Later arguments win: StartTLS's --port 0 turns the plain port off.
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no"}, s.extra...)
	cmd := exec.Command("redis-server", args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd, s.out = cmd, out
	s.mu.Unlock()
	deadline := time.Now().Add(startWait)
	for {
		if err := s.ping(); err == nil {
			return
		} else if time.Now().After(deadline) {
			s.Kill()
			s.t.Fatalf("redis-server on %s did not answer PING within %v: %v\n%s", s.Addr(), startWait, err, out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a starting process
	}
}

// ping sends an inline PING; a server that asks for a password answers
// NOAUTH, which also means it is up.
func (s *Server) ping() error {
	var c net.Conn
	var err error
	if s.tls {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: &tls.Config{InsecureSkipVerify: true}} // only "is it up?"
		c, err = d.Dial("tcp", s.Addr())
	} else {
		c, err = net.DialTimeout("tcp", s.Addr(), time.Second)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.Contains(line, "NOAUTH") {
		return fmt.Errorf("answer %q", line)
	}
	return nil
}

// Kill stops the server at once (SIGKILL) and waits for it to exit. All
// its data is lost.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Restart starts a new, empty server on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// Silent is a TCP server that accepts connections and never answers: a
// Redis that hangs. Its URL is redis://addr/0.
type Silent struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// StartSilent starts a Silent server, closed when the test ends.
func StartSilent(t testing.TB) *Silent {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &Silent{l: l}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			_ = c.Close()
		}
	})
	return s
}

// URL is the redis:// URL of the silent server.
func (s *Silent) URL() string { return "redis://" + s.l.Addr().String() + "/0" }

package proxy

import (
	"errors"
	"net"
	"net/http"
	"os"
	"testing"
)

func TestResumeRequestFramesTheAnswerAsTheParkedRequestAsked(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  http.Request
		want string
	}{
		{"an HTTP/1.1 call keeps its connection",
			http.Request{Method: "POST", ProtoMajor: 1, ProtoMinor: 1},
			"POST /-/resume HTTP/1.1\r\nHost: notion-proxy\r\n\r\n"},
		{"HEAD stays HEAD, so the answer has no body",
			http.Request{Method: "HEAD", ProtoMajor: 1, ProtoMinor: 1},
			"HEAD /-/resume HTTP/1.1\r\nHost: notion-proxy\r\n\r\n"},
		{"Connection: close is kept",
			http.Request{Method: "GET", ProtoMajor: 1, ProtoMinor: 1, Close: true},
			"GET /-/resume HTTP/1.1\r\nHost: notion-proxy\r\nConnection: close\r\n\r\n"},
		{"a chunked body closes the connection after the answer",
			http.Request{Method: "POST", ProtoMajor: 1, ProtoMinor: 1, TransferEncoding: []string{"chunked"}},
			"POST /-/resume HTTP/1.1\r\nHost: notion-proxy\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0 without keep-alive closes",
			http.Request{Method: "GET", ProtoMajor: 1, ProtoMinor: 0, Close: true},
			"GET /-/resume HTTP/1.0\r\nHost: notion-proxy\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0 with keep-alive keeps it",
			http.Request{Method: "GET", ProtoMajor: 1, ProtoMinor: 0},
			"GET /-/resume HTTP/1.0\r\nHost: notion-proxy\r\nConnection: keep-alive\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(resumeRequest(&tc.req)); got != tc.want {
				t.Errorf("resumeRequest = %q, want %q", got, tc.want)
			}
		})
	}
}

// The gate's wake-up and a reload of pause.timeout each interrupt a parked
// connection's watch from their own goroutine, and either can run after
// the connection was handed back to the server (TestChurn met it once in
// CI). An interrupt that late must leave the connection readable: a read
// deadline in the past would fail net/http's background read, which
// cancels every later request on the connection.
func TestLateInterruptLeavesAHandedBackConnectionAlone(t *testing.T) {
	conn, program := net.Pipe()
	defer conn.Close()
	defer program.Close()
	p := &parked{conn: conn}

	p.interrupt()
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an interrupt while parked: read = %v, want the deadline passed", err)
	}
	p.handBack()
	p.interrupt() // late: after the hand-back
	go func() { _, _ = program.Write([]byte("G")) }()
	buf := make([]byte, 1)
	if _, err := conn.Read(buf); err != nil {
		t.Fatalf("read after a late interrupt: %v, want the program's byte", err)
	}
}

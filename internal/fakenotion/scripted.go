package fakenotion

import (
	"maps"
	"net/http"
	"strconv"
)

// OutcomeScripted: answered by AnswerNext with the scripted answer.
const OutcomeScripted = "scripted"

// Scripted is an answer AnswerNext gives instead of serving a call: what a
// hostile or broken upstream (or a proxy in front of Notion) might send.
type Scripted struct {
	// Status is the answer's status code.
	Status int
	// Header is added to the answer. Content-Length is set by the fake.
	Header http.Header
	// Body is the bytes sent after the header.
	Body []byte
	// Length is the Content-Length announced; 0 means len(Body). A Length
	// above len(Body) sends Body, then closes the connection: an answer cut
	// mid-body.
	Length int
	// RequestID, when true, adds an x-notion-request-id as Notion does.
	RequestID bool
}

// AnswerNext makes the next n calls (except /v1/oauth/*) get a instead of
// being served. Such calls are recorded (as OutcomeScripted) but never
// applied. It replaces any earlier AnswerNext; Reset clears it.
func (s *Server) AnswerNext(n int, a Scripted) {
	a.Header = a.Header.Clone()
	a.Body = append([]byte(nil), a.Body...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scriptN, s.script = n, a
}

// takeScripted consumes one scripted answer, if any is pending.
func (s *Server) takeScripted(oauth bool) (Scripted, bool) {
	if oauth {
		return Scripted{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scriptN == 0 {
		return Scripted{}, false
	}
	s.scriptN--
	return s.script, true
}

// scripted writes a scripted answer, cutting the connection after the body
// when the announced length is longer.
func (c *call) scripted(a Scripted) {
	h := c.w.Header()
	maps.Copy(h, a.Header)
	length := a.Length
	if length == 0 {
		length = len(a.Body)
	}
	h.Set("Content-Length", strconv.Itoa(length))
	if a.RequestID {
		h.Set("X-Notion-Request-Id", c.requestID)
	}
	c.s.finish(c.ref, a.Status, OutcomeScripted)
	c.w.WriteHeader(a.Status)
	_, _ = c.w.Write(a.Body)
	if length <= len(a.Body) {
		return
	}
	// Cut mid-body: flush what was written, then close without the rest.
	if f, ok := c.w.(http.Flusher); ok {
		f.Flush()
	}
	if hj, ok := c.w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

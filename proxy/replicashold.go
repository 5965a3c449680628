package proxy

import (
	"net/http"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/shared"
)

// A rate-limit hold heard from another replica carries the 429 (or 529)
// Notion answered there, so that a call here that gives up waiting for the
// hold (retry.max_wait) gets Notion's answer, as on the replica that got
// it, not one of the proxy's making.

// heldAnswerHeaders are the headers of Notion's answer passed on with a
// hold: what a client reads of a 429. Nothing else (no cookie, no
// connection header) leaves the replica.
var heldAnswerHeaders = []string{"Retry-After", "Content-Type", "X-Notion-Request-Id", "X-Request-Id"}

// sharedAnswer is the part of a that goes with a hold to the other
// replicas; nil when a is nil or its body too big to pass on.
func sharedAnswer(a *gate.Answer) *shared.Answer {
	if a == nil || len(a.Body) > shared.MaxAnswerBody {
		return nil
	}
	out := &shared.Answer{Status: a.Status, Body: string(a.Body)}
	for _, k := range heldAnswerHeaders {
		if v := a.Header.Get(k); v != "" {
			if out.Header == nil {
				out.Header = map[string]string{}
			}
			out.Header[k] = v
		}
	}
	return out
}

// gateAnswer is an answer heard from another replica as this replica
// keeps one; nil when none came.
func gateAnswer(a *shared.Answer) *gate.Answer {
	if a == nil {
		return nil
	}
	h := http.Header{}
	for _, k := range heldAnswerHeaders {
		if v, ok := a.Header[k]; ok {
			h.Set(k, v)
		}
	}
	return &gate.Answer{Status: a.Status, Header: h, Body: []byte(a.Body)}
}

package proxy

import (
	"errors"
	"io"
	"net/http"
)

// An answer whose body breaks off (the upstream closes the connection
// before Content-Length bytes, or a chunked body ends without its last
// chunk) has had its status line and some bytes copied to the program
// already. httputil.ReverseProxy can then only abort the connection
// (panicking with http.ErrAbortHandler): the program sees its connection
// close before the end of the answer, often before any byte. The call is
// logged and counted for what the program got, not as Notion's status.

// watchedBody is the body of an answer passed to the program; it keeps
// the first read error other than io.EOF in its call. Only the goroutine
// serving the call reads it.
type watchedBody struct {
	io.ReadCloser
	c *call
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && b.c.bodyErr == nil {
		b.c.bodyErr = err
	}
	return n, err
}

// noteBodyCut sets the call's status and outcome for the log line and
// metrics when its answer's body broke off: 499 "program went away" when
// the program left first, else 502 "upstream body cut", with Notion's
// status kept as upstream_status.
func (c *call) noteBodyCut(r *http.Request) {
	switch {
	case c.bodyErr == nil:
	case r.Context().Err() != nil:
		c.status, c.outcome = 499, outcomeProgramGone
	default:
		c.upstreamStatus = c.status
		c.status, c.outcome = http.StatusBadGateway, outcomeBodyCut
	}
}

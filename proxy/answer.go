package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Answers the proxy keeps or makes itself: Notion's invalid-token answer
// kept for calls that give up waiting, and the proxy's own errors, all in
// Notion's error shape (docs/design.md#errors).

func syntheticInvalidToken() *gate.Answer {
	return jsonAnswer(http.StatusUnauthorized, rewrite.InvalidTokenBody())
}

// notionError is an answer of the proxy's own in Notion's error shape.
func notionError(status int, code, msg string) *gate.Answer {
	return jsonAnswer(status, rewrite.ErrorBody(status, code, msg))
}

func jsonAnswer(status int, body []byte) *gate.Answer {
	return &gate.Answer{Status: status, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Body: body}
}

// hostDeniedMsg answers proxy requests for other hosts under
// other_hosts: deny.
const hostDeniedMsg = "notion-proxy only forwards " + rewrite.NotionHost + " (other_hosts: deny)"

// peekAnswer reads the body of resp, an answer that may be kept (a 401),
// up to maxAnswerBytes. When the body ends within that, it returns the
// whole answer with resp's body closed. When it is longer, it can be no
// answer the proxy keeps or judges (Notion's error objects are small): it
// returns a nil Answer and resp, whose body now gives the bytes already
// read and then the rest, so the program gets the answer whole.
func peekAnswer(resp *http.Response) (*gate.Answer, *http.Response, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		resp.Body.Close()
		return nil, nil, fmt.Errorf("read %d answer: %w", resp.StatusCode, err)
	}
	if len(data) > maxAnswerBytes {
		resp.Body = prefixedBody{Reader: io.MultiReader(bytes.NewReader(data), resp.Body), Closer: resp.Body}
		return nil, resp, nil
	}
	resp.Body.Close()
	return &gate.Answer{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil, nil
}

// prefixedBody is an answer's body after peekAnswer: the bytes it read,
// then the rest; closing closes the original body.
type prefixedBody struct {
	io.Reader
	io.Closer
}

// responseOf turns a kept answer back into a response for req.
func responseOf(a *gate.Answer, req *http.Request) *http.Response {
	h := a.Header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", a.Status, http.StatusText(a.Status)),
		StatusCode:    a.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(a.Body)),
		ContentLength: int64(len(a.Body)),
		Request:       req,
	}
}

func writeNotionError(w http.ResponseWriter, status int, code, msg string) {
	a := notionError(status, code, msg)
	w.Header().Set("Content-Type", a.Header.Get("Content-Type"))
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Body)))
	w.WriteHeader(status)
	_, _ = w.Write(a.Body)
}

package proxy

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

func TestPeekAnswer(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		wantWhole bool // kept as an Answer, to be judged
	}{
		{"an empty answer is kept whole", 0, true},
		{"a small answer is kept whole", 200, true},
		{"an answer of exactly the limit is kept whole", maxAnswerBytes, true},
		{"an answer one byte over the limit is passed on unjudged", maxAnswerBytes + 1, false},
		{"a 2 MiB answer is passed on unjudged", 2 << 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("x"), tt.size)
			closed := false
			resp := &http.Response{StatusCode: 401, Header: http.Header{}, ContentLength: int64(tt.size),
				Body: closeRecorder{Reader: bytes.NewReader(body), closed: &closed}}
			ans, long, err := peekAnswer(resp)
			if err != nil {
				t.Fatal(err)
			}
			if (ans != nil) != tt.wantWhole || (long != nil) == tt.wantWhole {
				t.Fatalf("answer %v, long %v; want whole %v", ans != nil, long != nil, tt.wantWhole)
			}
			if tt.wantWhole {
				if !bytes.Equal(ans.Body, body) || !closed {
					t.Errorf("kept %d bytes (closed %v), want %d and the body closed", len(ans.Body), closed, tt.size)
				}
				return
			}
			got, _ := io.ReadAll(long.Body)
			long.Body.Close()
			if !bytes.Equal(got, body) || long.ContentLength != int64(tt.size) || !closed {
				t.Errorf("passed on %d bytes, length %d (closed %v), want %d", len(got), long.ContentLength, closed, tt.size)
			}
		})
	}
}

// closeRecorder is a body that records being closed.
type closeRecorder struct {
	io.Reader
	closed *bool
}

func (c closeRecorder) Close() error {
	*c.closed = true
	return nil
}

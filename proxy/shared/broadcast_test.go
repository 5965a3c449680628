package shared

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/redistest"
)

// notionAnswer is a 429 as Notion sends it.
var notionAnswer = &Answer{Status: 429,
	Header: map[string]string{"Retry-After": "30", "Content-Type": "application/json", "X-Notion-Request-Id": "req-1"},
	Body:   `{"object":"error","status":429,"code":"rate_limited","message":"slow down","request_id":"req-1"}`}

// TestMessagesReachOtherReplicas checks pub/sub delivery of each kind of
// message, and that the writer is not told of its own.
func TestMessagesReachOtherReplicas(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := startReplica(t, srv.URL(""), testKey)
	b := startReplica(t, srv.URL(""), testKey)
	a.Track([]string{"p"}, []string{"ws"})
	b.Track([]string{"p"}, []string{"ws"})
	waitState(t, a, StateConnected)
	waitState(t, b, StateConnected)

	t.Run("a token written on one replica reaches the other", func(t *testing.T) {
		if _, err := a.Write(ctx, "p", "token-1", "refresh-1"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "b gets token-1", func() bool {
			tok, ok := b.lastToken()
			return ok && tok.Access == "token-1" && tok.Refresh == "refresh-1" && tok.Version == 1
		})
		if _, ok := a.lastToken(); ok {
			t.Error("the writer was told of its own write")
		}
	})
	t.Run("a rejected token reaches the other as its fingerprint", func(t *testing.T) {
		if err := a.Reject(ctx, "p", "token-1"); err != nil {
			t.Fatal(err)
		}
		want := "p/" + b.Fingerprint("token-1")
		eventually(t, "b hears of the rejection", func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return len(b.rejected) > 0 && b.rejected[len(b.rejected)-1] == want
		})
	})
	t.Run("a rejection heard is not sent back", func(t *testing.T) {
		raw := rawClient(t, srv.URL(""))
		sub := raw.Subscribe(ctx, "test:events")
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Reject(ctx, "p", "token-1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Reject(ctx, "p", "token-2"); err != nil {
			t.Fatal(err)
		}
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := a.Fingerprint("token-2"); !strings.Contains(msg.Payload, want) {
			t.Fatalf("first message %s, want the rejection of token-2 (token-1's was sent again)", msg.Payload)
		}
	})
	t.Run("a hold reaches the other, with Notion's answer", func(t *testing.T) {
		before := time.Now()
		if err := a.Hold(ctx, ScopeWorkspace, "ws", time.Minute, "rate_limited", notionAnswer); err != nil {
			t.Fatal(err)
		}
		eventually(t, "b hears of the hold", func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			for _, h := range b.holds {
				if h.Scope == ScopeWorkspace && h.Name == "ws" && h.Reason == "rate_limited" && h.Until.After(before.Add(50*time.Second)) &&
					reflect.DeepEqual(h.Answer, notionAnswer) {
					return true
				}
			}
			return false
		})
	})
	t.Run("an answer too big to pass on is left out", func(t *testing.T) {
		big := &Answer{Status: 429, Body: strings.Repeat("x", MaxAnswerBody+1)}
		if err := a.Hold(ctx, ScopeProfile, "big", time.Minute, "rate_limited", big); err != nil {
			t.Fatal(err)
		}
		eventually(t, "b hears of the hold", func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			for _, h := range b.holds {
				if h.Name == "big" {
					if h.Answer != nil {
						t.Errorf("a %d-byte answer was passed on", len(h.Answer.Body))
					}
					return true
				}
			}
			return false
		})
	})
	t.Run("a replica that joins later learns the token, the rejection and the hold", func(t *testing.T) {
		c := startReplica(t, srv.URL(""), testKey)
		c.Track([]string{"p"}, []string{"ws"})
		eventually(t, "c learns everything at its first resync", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return len(c.tokens) == 1 && c.tokens[0].Access == "token-1" &&
				len(c.rejected) == 1 && len(c.holds) > 0
		})
		c.mu.Lock()
		defer c.mu.Unlock()
		if h := c.holds[0]; !reflect.DeepEqual(h.Answer, notionAnswer) {
			t.Errorf("the hold learnt at the resync has answer %+v, want Notion's %+v", h.Answer, notionAnswer)
		}
	})
}

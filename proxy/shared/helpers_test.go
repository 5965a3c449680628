package shared

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// waitFor bounds every wait of these tests.
const waitFor = 10 * time.Second

// testKey is a fixed sealing key.
var testKey = bytes.Repeat([]byte{7}, KeySize)

// replica is a running Store and what its handlers received.
type replica struct {
	*Store
	mu       sync.Mutex
	tokens   []Token
	rejected []string // profile/fingerprint
	holds    []Hold
}

// startReplica builds a Store on url and runs it until the test ends.
func startReplica(t *testing.T, url string, key []byte, tweak ...func(*Options)) *replica {
	t.Helper()
	opts := Options{URL: url, Key: key, Prefix: "test:", Log: zerolog.Nop()}
	for _, f := range tweak {
		f(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r := &replica{Store: s}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx, Handlers{
			Token: func(tok Token) {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.tokens = append(r.tokens, tok)
			},
			Rejected: func(profile, fp string) {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.rejected = append(r.rejected, profile+"/"+fp)
			},
			Hold: func(h Hold) {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.holds = append(r.holds, h)
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = s.Close()
	})
	return r
}

// eventually waits until cond holds, failing the test after waitFor.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, waitFor, what, cond)
}

// waitState waits until the replica's Health is state.
func waitState(t *testing.T, r *replica, state string) {
	t.Helper()
	eventually(t, "health "+state, func() bool { return r.Health().State == state })
}

// lastToken is the last record handed to the Token hook, if any.
func (r *replica) lastToken() (Token, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.tokens) == 0 {
		return Token{}, false
	}
	return r.tokens[len(r.tokens)-1], true
}

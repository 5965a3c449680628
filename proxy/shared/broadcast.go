package shared

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Scopes of a Hold.
const (
	ScopeProfile   = "profile"
	ScopeWorkspace = "workspace"
)

// rejectedTTL is how long Redis remembers a rejected token's fingerprint,
// for replicas that start or reconnect later.
const rejectedTTL = 24 * time.Hour

// Hold is a rate-limit hold: nothing of the profile, or of every profile
// of the workspace, is sent to Notion before Until.
type Hold struct {
	Scope  string // ScopeProfile or ScopeWorkspace
	Name   string // the profile or workspace
	Until  time.Time
	Reason string // Notion's code for the limit, e.g. "rate_limited"; "" after a resync
	// Answer is Notion's answer that caused the hold, for the calls that
	// give up waiting for it; nil when not known.
	Answer *Answer
}

// MaxAnswerBody bounds the body of an Answer passed on: Notion's 429 is a
// small JSON error; a bigger body is not passed on (Answer nil).
const MaxAnswerBody = 4 << 10

// Answer is the rate-limit answer (a 429 or 529) that caused a hold, so
// that every replica answers a call that gives up waiting for the hold as
// Notion did, not with one of its own making. It is kept in Redis and
// sent in clear: never put a token in it.
type Answer struct {
	Status int               `json:"st"`
	Header map[string]string `json:"h,omitempty"` // a few headers, one value each
	Body   string            `json:"b,omitempty"`
}

// usable is a, or nil when a cannot be passed on.
func (a *Answer) usable() *Answer {
	if a == nil || a.Status < 100 || a.Status > 599 || len(a.Body) > MaxAnswerBody {
		return nil
	}
	return a
}

// parseAnswer reads an Answer kept in a hold key ("1" or "": none).
func parseAnswer(v string) *Answer {
	if v == "" || v[0] != '{' {
		return nil
	}
	var a Answer
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return nil
	}
	return a.usable()
}

// message is what goes over the channel. Tokens travel sealed.
type message struct {
	Kind    string  `json:"kind"` // "token", "rejected" or "hold"
	Profile string  `json:"profile,omitempty"`
	V       int64   `json:"v,omitempty"`
	S       string  `json:"s,omitempty"`
	FP      string  `json:"fp,omitempty"`
	Scope   string  `json:"scope,omitempty"`
	Name    string  `json:"name,omitempty"`
	MS      int64   `json:"ms,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	Answer  *Answer `json:"ans,omitempty"`
	By      string  `json:"by"`
}

// Reject tells every replica that Notion answered invalid-token for the
// profile's token: those holding it pause the profile. Only the token's
// fingerprint leaves this replica. A rejection this replica already
// shared or heard of is not sent again, so a pause that a message caused
// does not echo back.
func (s *Store) Reject(ctx context.Context, profile, token string) error {
	fp := s.seal.fingerprint(token)
	s.mu.Lock()
	known := s.rejected[profile] == fp
	s.mu.Unlock()
	if known {
		return nil
	}
	msg, err := json.Marshal(message{Kind: "rejected", Profile: profile, FP: fp, By: s.id})
	if err != nil {
		return fmt.Errorf("shared: reject: %w", err)
	}
	err = s.op(ctx, "share rejected token", func(ctx context.Context) error {
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.keys.rejected(profile), fp, rejectedTTL)
			p.Publish(ctx, s.keys.channel(), msg)
			return nil
		})
		return err
	})
	if err == nil {
		s.mu.Lock()
		s.rejected[profile] = fp
		s.mu.Unlock()
	}
	return err
}

// holdScript extends a hold key to ARGV[1] ms, holding ARGV[4] (the
// answer's JSON, or "1"), unless it already lasts longer, and publishes
// ARGV[3] on channel ARGV[2].
var holdScript = redis.NewScript(`
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`)

// Hold tells every replica to hold the profile or workspace (scope) for d,
// for reason, passing on ans (Notion's answer; nil or too big: none).
// Replicas count d from when the message reaches them: no clocks are
// compared.
func (s *Store) Hold(ctx context.Context, scope, name string, d time.Duration, reason string, ans *Answer) error {
	ms := max(d.Milliseconds(), 1)
	ans = ans.usable()
	msg, err := json.Marshal(message{Kind: "hold", Scope: scope, Name: name, MS: ms, Reason: reason, Answer: ans, By: s.id})
	if err != nil {
		return fmt.Errorf("shared: hold: %w", err)
	}
	kept := []byte("1")
	if ans != nil {
		if kept, err = json.Marshal(ans); err != nil {
			return fmt.Errorf("shared: hold: %w", err)
		}
	}
	return s.op(ctx, "share rate-limit hold", func(ctx context.Context) error {
		return holdScript.Run(ctx, s.rdb, []string{s.keys.hold(scope, name)}, ms, s.keys.channel(), msg, kept).Err()
	})
}

// receive acts on one message from the channel.
func (s *Store) receive(payload string) {
	var m message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		s.opts.Log.Warn().Err(err).Msg("shared state: unreadable message ignored")
		return
	}
	if m.By == s.id {
		return
	}
	s.mu.Lock()
	h := s.handlers
	s.mu.Unlock()
	switch m.Kind {
	case "token":
		t, err := s.opened(m.Profile, m.V, m.S, m.By)
		if err == nil && s.adopt(t) && h.Token != nil {
			h.Token(t)
		}
	case "rejected":
		s.mu.Lock()
		s.rejected[m.Profile] = m.FP
		s.mu.Unlock()
		if h.Rejected != nil {
			h.Rejected(m.Profile, m.FP)
		}
	case "hold":
		if h.Hold != nil {
			h.Hold(Hold{Scope: m.Scope, Name: m.Name, Until: time.Now().Add(time.Duration(m.MS) * time.Millisecond),
				Reason: m.Reason, Answer: m.Answer.usable()})
		}
	}
}

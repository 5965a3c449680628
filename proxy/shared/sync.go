package shared

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Back-off between reconnects, and the heartbeat of the subscription.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	heartbeat  = time.Second
)

// Run follows the shared state until ctx ends: it subscribes to the
// channel, resyncs, hands what other replicas do to h, resyncs every
// Options.Resync, and reconnects with back-off when Redis goes away. It
// returns nil once ctx is done; it is the only caller of h.
func (s *Store) Run(ctx context.Context, h Handlers) error {
	s.mu.Lock()
	s.handlers = h
	s.mu.Unlock()
	backoff := minBackoff
	for {
		synced, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if synced {
			backoff = minBackoff
		}
		s.degraded(err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session subscribes, resyncs and receives until the connection fails. It
// reports whether it got as far as a resync, and why it ended.
func (s *Store) session(ctx context.Context) (bool, error) {
	ps := s.rdb.Subscribe(ctx)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		stop()
		_ = ps.Close()
	}()
	if err := s.op(ctx, "subscribe", func(ctx context.Context) error {
		if err := ps.Subscribe(ctx, s.keys.channel()); err != nil {
			return err
		}
		_, err := ps.ReceiveTimeout(ctx, s.opts.Timeout)
		return err
	}); err != nil {
		return false, err
	}
	if err := s.resync(ctx); err != nil {
		return false, err
	}
	last := time.Now()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, heartbeat)
		switch {
		case ctx.Err() != nil:
			return true, nil
		case isTimeout(err) && pinged:
			return true, fmt.Errorf("%w: subscription at %s: no answer to PING", ErrUnavailable, s.where)
		case isTimeout(err):
			if err := ps.Ping(ctx); err != nil {
				return true, fmt.Errorf("%w: subscription at %s: %w", ErrUnavailable, s.where, err)
			}
			pinged = true
		case err != nil:
			return true, fmt.Errorf("%w: subscription at %s: %w", ErrUnavailable, s.where, err)
		default:
			pinged = false
			if m, ok := msg.(*redis.Message); ok {
				s.receive(m.Payload)
			}
		}
		if time.Since(last) >= s.opts.Resync || s.Health().State != StateConnected {
			if err := s.resync(ctx); err != nil {
				return true, err
			}
			last = time.Now()
		}
	}
}

// isTimeout reports a read that found nothing before its deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// resync reads the state of every followed profile and workspace in one
// round trip and reconciles: newer records are applied, pending writes
// written, records Redis lost restored, pauses and holds handed on. A good
// resync turns Health to connected.
func (s *Store) resync(ctx context.Context) error {
	s.mu.Lock()
	profiles := map[string]bool{}
	for p := range s.profiles {
		profiles[p] = true
	}
	for p := range s.known {
		profiles[p] = true
	}
	for p := range s.pending {
		profiles[p] = true
	}
	var spaces []string
	for w := range s.spaces {
		spaces = append(spaces, w)
	}
	h := s.handlers
	s.mu.Unlock()

	type reads struct {
		token    *redis.MapStringStringCmd
		rejected *redis.StringCmd
		hold     holdReads
	}
	got := map[string]reads{}
	spaceHolds := map[string]holdReads{}
	err := s.op(ctx, "resync", func(ctx context.Context) error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for name := range profiles {
				got[name] = reads{
					token:    p.HGetAll(ctx, s.keys.token(name)),
					rejected: p.Get(ctx, s.keys.rejected(name)),
					hold:     readHold(ctx, p, s.keys.hold(ScopeProfile, name)),
				}
			}
			for _, w := range spaces {
				spaceHolds[w] = readHold(ctx, p, s.keys.hold(ScopeWorkspace, w))
			}
			return nil
		})
		if isNil(err) {
			return nil // a missing rejected key; the others answered
		}
		return err
	})
	if err != nil {
		return err
	}
	now := time.Now()
	for name, r := range got {
		if err := s.reconcile(ctx, name, r.token.Val(), h); err != nil {
			return err
		}
		if fp := r.rejected.Val(); fp != "" {
			s.mu.Lock()
			fresh := s.rejected[name] != fp
			s.rejected[name] = fp
			s.mu.Unlock()
			if fresh && h.Rejected != nil {
				h.Rejected(name, fp)
			}
		}
		if d := r.hold.ttl.Val(); d > 0 && h.Hold != nil {
			h.Hold(Hold{Scope: ScopeProfile, Name: name, Until: now.Add(d), Answer: parseAnswer(r.hold.value.Val())})
		}
	}
	for w, r := range spaceHolds {
		if d := r.ttl.Val(); d > 0 && h.Hold != nil {
			h.Hold(Hold{Scope: ScopeWorkspace, Name: w, Until: now.Add(d), Answer: parseAnswer(r.value.Val())})
		}
	}
	s.connected()
	return nil
}

// holdReads are the pipelined reads of one hold key: its remaining time
// and the answer it keeps.
type holdReads struct {
	ttl   *redis.DurationCmd
	value *redis.StringCmd
}

// readHold queues the reads of the hold key in p.
func readHold(ctx context.Context, p redis.Pipeliner, key string) holdReads {
	return holdReads{ttl: p.PTTL(ctx, key), value: p.Get(ctx, key)}
}

// reconcile brings one profile's record and this replica's into line.
func (s *Store) reconcile(ctx context.Context, profile string, fields map[string]string, h Handlers) error {
	rec, err := s.record(profile, fields)
	if err != nil {
		return err
	}
	s.mu.Lock()
	held, pend := s.known[profile], s.pending[profile]
	_, hasPending := s.pending[profile]
	s.mu.Unlock()
	var wrote secret
	var got Token
	switch {
	case hasPending && rec.Version <= pend.seen || hasPending && pend.mode == modeSource:
		// This replica's write while Redis was away: write it now.
		wrote = pend.sec
		got, err = s.writeAt(ctx, profile, pend.sec, pend.seen, pend.mode)
	case rec.Version > held.Version:
		if s.adopt(rec) && h.Token != nil {
			h.Token(rec)
		}
		return nil
	case rec.Version < held.Version:
		// Redis lost the record (restarted without persistence): put back
		// the one this replica holds, at its version.
		wrote = secret{Access: held.Access, Refresh: held.Refresh}
		got, err = s.writeAt(ctx, profile, wrote, held.Version, modeRestore)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if (hasPending || got.Access != wrote.Access || got.Refresh != wrote.Refresh) && h.Token != nil {
		// A newer record won, or the replica may have moved on since its
		// write: make it use what Redis now holds.
		h.Token(got)
	}
	return nil
}

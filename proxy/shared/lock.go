package shared

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// pollEvery is how often a replica waiting for another's refresh looks at
// Redis when no message woke it.
const pollEvery = 100 * time.Millisecond

// lockScript takes the refresh lock with a new fencing number.
// KEYS[1] lock, KEYS[2] fence counter; ARGV[1] expiry in ms.
// Answers the fencing number, or 0 when another replica holds the lock.
var lockScript = redis.NewScript(`
local f = redis.call('INCR', KEYS[2])
if redis.call('SET', KEYS[1], f, 'NX', 'PX', ARGV[1]) then return f end
return 0
`)

// unlockScript deletes the lock only if it still holds the fencing number
// ARGV[1]: a holder whose lock expired never releases another's.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// extendScript renews the lock's expiry (ARGV[2] ms) only if it still
// holds the fencing number ARGV[1].
var extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// RefreshFunc performs one OAuth refresh. cur is the profile's record in
// Redis: its Refresh is the refresh token to send (if cur.Refresh is "",
// Redis has none yet: use the replica's own). It answers the new access
// and refresh tokens (Profile and Version are ignored).
type RefreshFunc func(ctx context.Context, cur Token) (Token, error)

// Refresh replaces the profile's access token rejected (an invalid-token
// answer) once across all replicas. It answers at once with a record that
// already replaced rejected; otherwise it takes the refresh lock and runs
// refresh, or waits for the replica that holds the lock. After a failed
// refresh it reads Redis again and answers a newer record if one is there,
// else refresh's error.
//
// An error wrapping ErrUnavailable means Redis could not be used: refresh
// on your own. The answer is already held by this replica (Held); the
// caller applies it to its calls.
func (s *Store) Refresh(ctx context.Context, profile, rejected string, refresh RefreshFunc) (Token, error) {
	for {
		s.mu.Lock()
		wake := s.changed
		s.mu.Unlock()
		rec, err := s.Read(ctx, profile)
		if err != nil {
			return Token{}, err
		}
		if s.replaces(rec, rejected) {
			s.adopt(rec)
			return rec, nil
		}
		fence, err := s.lock(ctx, profile)
		if err != nil {
			return Token{}, err
		}
		if fence != 0 {
			return s.refreshHolding(ctx, profile, rejected, fence, refresh)
		}
		select {
		case <-ctx.Done():
			return Token{}, fmt.Errorf("shared: waiting for another replica's refresh of %s: %w", profile, ctx.Err())
		case <-wake:
		case <-time.After(pollEvery):
		}
	}
}

// replaces reports whether rec is a token to use instead of rejected: a
// record in Redis, of another token, not older than what this replica holds.
func (s *Store) replaces(rec Token, rejected string) bool {
	return rec.Version > 0 && rec.Access != rejected && rec.Version >= s.Held(rec.Profile).Version
}

// refreshHolding runs the refresh while holding the lock with fencing
// number fence, then writes and answers its result.
func (s *Store) refreshHolding(ctx context.Context, profile, rejected string, fence int64, refresh RefreshFunc) (Token, error) {
	ctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go s.keepLock(ctx, profile, fence, done)
	defer func() {
		stop()
		<-done
		s.unlock(profile, fence)
	}()
	rec, err := s.Read(ctx, profile) // another replica may have finished meanwhile
	if err != nil {
		return Token{}, err
	}
	if s.replaces(rec, rejected) {
		s.adopt(rec)
		return rec, nil
	}
	got, rerr := refresh(ctx, rec)
	if rerr != nil {
		if again, err := s.Read(ctx, profile); err == nil && s.replaces(again, rejected) {
			s.adopt(again)
			return again, nil
		}
		return Token{}, rerr
	}
	// Based on the newest record known: Redis's, or this replica's when
	// Redis lost its data and the resync has not restored it yet.
	base := max(rec.Version, s.Held(profile).Version)
	written, err := s.writeAt(ctx, profile, secret{Access: got.Access, Refresh: got.Refresh}, base, modeDerived)
	if err != nil {
		// The new pair is the only valid one: use it; the resync writes it.
		s.opts.Log.Warn().Err(err).Str("profile", profile).Msg("refreshed token not shared yet: it is written when Redis answers again")
		return Token{Profile: profile, Version: base, Access: got.Access, Refresh: got.Refresh, By: s.id}, nil
	}
	return written, nil
}

// lock tries to take the refresh lock: its fencing number, or 0 when
// another replica holds it.
func (s *Store) lock(ctx context.Context, profile string) (int64, error) {
	var fence int64
	err := s.op(ctx, "take refresh lock", func(ctx context.Context) error {
		var err error
		fence, err = lockScript.Run(ctx, s.rdb, []string{s.keys.lock(profile), s.keys.fence()},
			s.opts.LockTTL.Milliseconds()).Int64()
		return err
	})
	return fence, err
}

// keepLock extends the lock every third of its expiry until ctx ends,
// then closes done.
func (s *Store) keepLock(ctx context.Context, profile string, fence int64, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(s.opts.LockTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = s.op(ctx, "extend refresh lock", func(ctx context.Context) error {
				return extendScript.Run(ctx, s.rdb, []string{s.keys.lock(profile)},
					strconv.FormatInt(fence, 10), s.opts.LockTTL.Milliseconds()).Err()
			})
		}
	}
}

// unlock releases the lock if this holder still has it.
func (s *Store) unlock(profile string, fence int64) {
	_ = s.op(context.Background(), "release refresh lock", func(ctx context.Context) error {
		return unlockScript.Run(ctx, s.rdb, []string{s.keys.lock(profile)}, strconv.FormatInt(fence, 10)).Err()
	})
}

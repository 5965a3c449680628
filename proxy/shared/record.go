package shared

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Token is one profile's token record as the replicas share it.
type Token struct {
	Profile string
	// Version orders the records of one profile: higher is newer. 0 means
	// Redis holds none.
	Version int64
	// Access is the token sent to Notion.
	Access string
	// Refresh is the OAuth refresh token that goes with Access, or "".
	Refresh string
	// By is the replica that wrote the record.
	By string
}

// pendingWrite is a write that Redis did not take (it was unreachable),
// made by a replica that had seen version seen.
type pendingWrite struct {
	sec  secret
	seen int64
	mode string
}

// Outcomes and modes of writeScript.
const (
	writeStale   = 0 // Redis holds a newer record: answered instead
	writeDone    = 1 // stored and published
	writeSame    = 2 // the same token is already current
	recordFields = 4

	// modeSource: a token from a source (config, token set, the page, a
	// token command): taken unless it was current once and replaced.
	modeSource = "source"
	// modeDerived: a token derived from the record at version seen (an
	// OAuth refresh): taken only if no newer record exists.
	modeDerived = "derived"
	// modeRestore: a record Redis lost, put back at its own version.
	modeRestore = "restore"
)

// historySize is how many past tokens per profile Redis remembers, so that
// a replica starting with an old token in its config does not bring it back.
const historySize = 64

// writeScript stores a sealed record unless it is older than the current
// one, and publishes it in the same step so messages follow version order.
// KEYS[1] token hash, KEYS[2] history (sorted set of the fingerprints of
// past records, by version). ARGV: seen, sealed, fp, sfp (fingerprint of
// access and refresh), by, mode, channel, profile.
// Answers {outcome, version, sealed, by}.
var writeScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local seen = tonumber(ARGV[1])
local mode = ARGV[6]
local function current(code)
  local r = redis.call('HMGET', KEYS[1], 'v', 's', 'by')
  return {code, r[1] or '0', r[2] or '', r[3] or ''}
end
if mode == 'restore' then
  if cur >= seen then return current(0) end
else
  if cur > 0 and redis.call('HGET', KEYS[1], 'sfp') == ARGV[4] then return {2, tostring(cur), '', ''} end
  if redis.call('ZSCORE', KEYS[2], ARGV[4]) then return current(0) end
  if mode == 'derived' and cur > seen then return current(0) end
end
local v = math.max(cur, seen) + 1
if mode == 'restore' then v = seen end
redis.call('HSET', KEYS[1], 'v', v, 's', ARGV[2], 'fp', ARGV[3], 'sfp', ARGV[4], 'by', ARGV[5])
redis.call('ZADD', KEYS[2], v, ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -` + strconv.Itoa(historySize+1) + `)
redis.call('PUBLISH', ARGV[7], cjson.encode({kind='token', profile=ARGV[8], v=v, s=ARGV[2], by=ARGV[5]}))
return {1, tostring(v), '', ''}
`)

// Write makes access (and refresh, for OAuth) the profile's token on every
// replica: a token from a source (the config file at start or reload,
// token set, the page, a token command). A token that was the profile's
// token once and was replaced is older: it does not come back (a replica
// starting with a stale config, an OAuth pair already rotated); then, and
// when the same token is already current, nothing changes. Write answers
// the profile's current token: the one written, or the newer one, which
// the caller must use instead.
//
// When Redis is unreachable the error wraps ErrUnavailable and the write
// is kept: the next resync tries it again. Use the token meanwhile.
func (s *Store) Write(ctx context.Context, profile, access, refresh string) (Token, error) {
	s.mu.Lock()
	seen := s.known[profile].Version
	if p, ok := s.pending[profile]; ok {
		seen = p.seen
	}
	s.profiles[profile] = true
	s.mu.Unlock()
	return s.writeAt(ctx, profile, secret{Access: access, Refresh: refresh}, seen, modeSource)
}

// writeAt runs writeScript for a record based on version seen.
func (s *Store) writeAt(ctx context.Context, profile string, sec secret, seen int64, mode string) (Token, error) {
	mine := Token{Profile: profile, Version: seen, Access: sec.Access, Refresh: sec.Refresh, By: s.id}
	sealed, err := s.seal.seal(profile, sec)
	if err != nil {
		return mine, err
	}
	var ans []any
	err = s.op(ctx, "write token", func(ctx context.Context) error {
		var err error
		ans, err = writeScript.Run(ctx, s.rdb, []string{s.keys.token(profile), s.keys.history(profile)},
			seen, sealed, s.seal.fingerprint(sec.Access), s.seal.fingerprint(sec.Access+"\x00"+sec.Refresh),
			s.id, mode, s.keys.channel(), profile).Slice()
		return err
	})
	if err != nil {
		if mode != modeRestore {
			s.mu.Lock()
			s.pending[profile] = pendingWrite{sec: sec, seen: seen, mode: mode}
			s.mu.Unlock()
		}
		return mine, err
	}
	outcome, version, sealedNow, by, err := parseWriteAnswer(ans)
	if err != nil {
		return mine, fmt.Errorf("shared: write token of %s: %w", profile, err)
	}
	s.mu.Lock()
	if p, ok := s.pending[profile]; ok && p.sec == sec {
		delete(s.pending, profile)
	}
	s.mu.Unlock()
	switch outcome {
	case writeDone, writeSame:
		mine.Version = version
		s.adopt(mine)
		return mine, nil
	default: // writeStale
		newer, err := s.opened(profile, version, sealedNow, by)
		if err != nil {
			return mine, err
		}
		s.adopt(newer)
		return newer, nil
	}
}

// parseWriteAnswer reads writeScript's {outcome, version, sealed, by}.
func parseWriteAnswer(ans []any) (outcome, version int64, sealed, by string, err error) {
	if len(ans) != recordFields {
		return 0, 0, "", "", fmt.Errorf("unexpected script answer %v", ans)
	}
	outcome, _ = ans[0].(int64)
	vs, _ := ans[1].(string)
	if version, err = strconv.ParseInt(vs, 10, 64); err != nil {
		return 0, 0, "", "", fmt.Errorf("unexpected version %q", vs)
	}
	sealed, _ = ans[2].(string)
	by, _ = ans[3].(string)
	return outcome, version, sealed, by, nil
}

// opened decrypts a record read from Redis.
func (s *Store) opened(profile string, version int64, sealed, by string) (Token, error) {
	sec, err := s.seal.open(profile, sealed)
	if err != nil {
		err = fmt.Errorf("shared: token of %s (version %d, written by replica %s): %w", profile, version, by, err)
		s.degraded(err)
		return Token{}, err
	}
	return Token{Profile: profile, Version: version, Access: sec.Access, Refresh: sec.Refresh, By: by}, nil
}

// Read answers the profile's record in Redis (Version 0: none). It does not
// change what this replica holds.
func (s *Store) Read(ctx context.Context, profile string) (Token, error) {
	var fields map[string]string
	err := s.op(ctx, "read token", func(ctx context.Context) error {
		var err error
		fields, err = s.rdb.HGetAll(ctx, s.keys.token(profile)).Result()
		return err
	})
	if err != nil {
		return Token{Profile: profile}, err
	}
	return s.record(profile, fields)
}

// record decodes a token hash as read by HGETALL.
func (s *Store) record(profile string, fields map[string]string) (Token, error) {
	if len(fields) == 0 {
		return Token{Profile: profile}, nil
	}
	v, err := strconv.ParseInt(fields["v"], 10, 64)
	if err != nil || v < 1 {
		return Token{Profile: profile}, fmt.Errorf("shared: token of %s: bad version %q in Redis", profile, fields["v"])
	}
	return s.opened(profile, v, fields["s"], fields["by"])
}

// adopt records t as held by this replica when it is newer than what it
// holds, and wakes the waiters of Refresh. It reports whether t was newer.
func (s *Store) adopt(t Token) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.known[t.Profile]
	if ok && t.Version < cur.Version {
		return false
	}
	if ok && t.Version == cur.Version && t.Access == cur.Access && t.Refresh == cur.Refresh {
		return false
	}
	s.known[t.Profile] = t
	if p, ok := s.pending[t.Profile]; ok && p.mode == modeDerived && p.seen < t.Version {
		delete(s.pending, t.Profile) // a newer record replaced the one it came from
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return true
}

// Held answers the token record this replica holds for profile (Version 0:
// none yet).
func (s *Store) Held(profile string) Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.known[profile]
	if !ok {
		return Token{Profile: profile}
	}
	return t
}

// isNil reports a missing key, which is not an error.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }

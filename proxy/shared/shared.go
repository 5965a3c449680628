// Package shared keeps the state that the replicas of one Notion
// integration share through Redis or Valkey (docs/design.md#many-replicas): the current token of
// each profile, one OAuth refresh at a time, "token T was rejected" pauses
// and rate-limit holds. It knows nothing of HTTP calls: the proxy tells it
// what happened and applies what it hears through Handlers.
//
// # Keys and messages
//
// Every key and the one channel start with Options.Prefix (P below):
//
//	P token:<profile>           hash  v (version), s (sealed token), fp, sfp, by
//	P rejected:<profile>        string, fingerprint of a rejected token (PX 24h)
//	P hold:<scope>:<name>       string, Notion's answer as JSON (or "1"),
//	                            PX = the hold's remaining time; scope is
//	                            "profile" or "workspace"
//	P lock:refresh:<profile>    string, fencing number of the holder (PX LockTTL)
//	P fence                     counter, INCR'd for each lock taken
//	P events                    pub/sub channel of JSON messages:
//	  {"kind":"token","profile":p,"v":7,"s":sealed,"by":replica}
//	  {"kind":"rejected","profile":p,"fp":fp,"by":replica}
//	  {"kind":"hold","scope":"profile","name":p,"ms":1500,"by":replica,
//	   "ans":{"st":429,"h":{"Retry-After":"2",...},"b":"{...}"}}
//
// Only commands that Redis ≥ 6.2 and Valkey both have are used: HGETALL,
// HGET, HSET, GET, SET NX PX, PTTL, INCR, DEL, PUBLISH, SUBSCRIBE, PING and
// Lua through EVALSHA/EVAL (with cjson). One server, not a cluster.
//
// # Tokens
//
// A token (the access token, and for OAuth the refresh token) is stored
// sealed with AES-256-GCM under the 32-byte key of Options.Key, with the
// profile as additional data: a record cannot be read without the key, nor
// moved to another profile. fp is an HMAC of the access token under a key
// derived from the same key: replicas compare tokens by it, Redis never
// holds a token in clear and a message never carries one.
//
// Each profile's record has a version. A write names the version its writer
// last saw; a Lua script refuses it when Redis holds a newer one (it then
// answers the newer record, which the writer adopts) and otherwise stores
// it as version seen+1 and publishes it in the same script, so messages go
// out in version order. A version therefore never goes backwards, and an
// older token never overwrites a newer one. Writing the token already
// current is a no-op. Replicas apply a message whose version is above the
// one they hold, at once; a resync every Options.Resync (and at each
// reconnect) catches messages that pub/sub lost (it delivers at most once).
//
// # OAuth refresh
//
// Refresh takes P lock:refresh:<profile> with SET NX PX and a fencing number
// from INCR, re-reads the record (another replica may have refreshed in the
// meantime) and only then runs the refresh, with the refresh token of the
// shared record, so a rotated refresh token is never sent twice. While it
// runs the lock is extended (compare-and-PEXPIRE); it is released by
// compare-and-DEL, both in Lua, so a holder whose lock expired never
// releases another's. The result is written like any token (version CAS),
// not fenced: the refresh already happened at Notion and its answer is the
// only valid pair. Replicas that lose the race wait for a record newer
// than the rejected one (woken by its message, or a 100 ms poll), or for
// the lock to go away, then try again. After a failed refresh (such as
// invalid_grant) the record is read again: a newer token there is used.
//
// # Failures
//
// Every operation is bounded by Options.Timeout (200 ms by default) and
// never retried inline. Any failure turns Health to degraded with the error;
// the replica keeps serving on its own state: its writes are kept as
// pending and written at the next resync, and Refresh returns
// ErrUnavailable: the caller may try again a while (the proxy does, so
// that the replicas do not all send the same refresh token) and then
// refreshes on its own, as without the shared mode. The subscriber reconnects with back-off (100 ms doubling to 5 s)
// and, once subscribed again, resyncs: it applies newer records, writes its
// pending ones (version CAS decides), restores records that Redis lost
// (a restarted Redis without persistence) and turns Health to connected.
// A replica that cannot reach Redis while another can may refresh on its
// own; Notion's rotation then rejects one of the two, and the resync makes
// every replica use the survivor.
package shared

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Defaults of Options.
const (
	DefaultTimeout = 200 * time.Millisecond
	DefaultResync  = 5 * time.Second
	DefaultLockTTL = 30 * time.Second
)

// Options configures a Store.
type Options struct {
	// URL is a redis:// or rediss:// URL (password included). It is never
	// logged whole.
	URL string
	// Password, when not "", is Redis's password, used instead of the
	// URL's: it needs no escaping. It is never logged.
	Password string
	// CAFile is an extra PEM bundle trusted, with the system roots, for a
	// rediss:// server. "" = system roots only.
	CAFile string
	// Key is the 32-byte sealing key (LoadKey).
	Key []byte
	// Prefix starts every key and the channel name.
	Prefix string
	// Timeout bounds each Redis operation; 0 = DefaultTimeout.
	Timeout time.Duration
	// Resync is the period of the full resync; 0 = DefaultResync.
	Resync time.Duration
	// LockTTL is the expiry of the refresh lock, extended while a refresh
	// runs; 0 = DefaultLockTTL.
	LockTTL time.Duration
	// Log receives state changes (degraded, connected again), never a
	// token or the URL's password.
	Log zerolog.Logger
}

// Handlers are the hooks through which a Store tells its replica what the
// others did. Run calls them from its one goroutine, one at a time; each
// must return quickly. A nil hook is skipped.
type Handlers struct {
	// Token receives a record newer than any this replica held: use
	// Access (and Refresh) as the profile's token from now on. It is not
	// called for this replica's own writes (Write returns those).
	Token func(Token)
	// Rejected says that some replica got an invalid-token answer for the
	// profile's token with this fingerprint: pause the profile if its
	// current token has it (Fingerprint).
	Rejected func(profile, fingerprint string)
	// Hold says that some replica was told to hold a profile or a
	// workspace until Until (local clock).
	Hold func(Hold)
	// Health receives every change of Health.
	Health func(Health)
}

// Store is one replica's view of the shared state. Its methods are safe
// for concurrent use; Run must be running for messages to arrive.
type Store struct {
	opts  Options
	rdb   *redis.Client
	seal  *sealer
	id    string // this replica, in records and messages
	keys  keys
	where string // the server, without credentials, for messages

	mu       sync.Mutex
	known    map[string]Token        // highest version applied, per profile
	pending  map[string]pendingWrite // writes Redis has not taken yet
	profiles map[string]bool         // tracked profiles (Track, Write, Read)
	spaces   map[string]bool         // tracked workspaces
	rejected map[string]string       // last fingerprint told to Handlers.Rejected
	health   Health
	changed  chan struct{} // closed and replaced when a record is applied
	handlers Handlers
}

// ErrUnavailable wraps every error caused by Redis being unreachable, slow
// or refusing a command: the caller goes on with its own state.
var ErrUnavailable = errors.New("shared state unavailable")

// New checks the options and builds a Store. It does not connect: a
// Redis that is down at start is reported by Health and retried by Run.
// Errors here (a bad URL, key or CA file) mean the shared mode cannot
// start.
func New(opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	seal, err := newSealer(opts.Key)
	if err != nil {
		return nil, err
	}
	ropts, err := clientOptions(opts)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("shared: replica id: %w", err)
	}
	return &Store{
		opts:     opts,
		rdb:      redis.NewClient(ropts),
		seal:     seal,
		id:       hex.EncodeToString(id),
		keys:     keys{prefix: opts.Prefix},
		where:    redacted(opts.URL),
		known:    map[string]Token{},
		pending:  map[string]pendingWrite{},
		profiles: map[string]bool{},
		spaces:   map[string]bool{},
		rejected: map[string]string{},
		health:   Health{State: StateConnecting, Since: time.Now()},
		changed:  make(chan struct{}),
	}, nil
}

// clientOptions turns the URL into go-redis options in which every wait is
// bounded by the timeout and nothing is retried inline.
func clientOptions(opts Options) (*redis.Options, error) {
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		// go-redis errors may quote the URL, password included.
		return nil, fmt.Errorf("shared.redis %s is not a valid redis:// or rediss:// URL "+
			"(a password in it must have its reserved characters, such as /, percent-escaped, or be given by shared.password_env)", redacted(opts.URL))
	}
	if opts.Password != "" {
		ro.Password = opts.Password
	}
	ro.DialTimeout = opts.Timeout
	ro.ReadTimeout = opts.Timeout
	ro.WriteTimeout = opts.Timeout
	ro.PoolTimeout = opts.Timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1
	ro.DialerRetries = 1
	ro.Protocol = 2           // RESP2: every Redis and Valkey speaks it
	ro.DisableIdentity = true // no CLIENT SETINFO: not every server has it
	if ro.TLSConfig != nil {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, fmt.Errorf("shared.ca: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("shared.ca %s holds no PEM certificate", opts.CAFile)
			}
		}
		ro.TLSConfig.RootCAs = pool
		ro.TLSConfig.MinVersion = tls.VersionTLS12
	}
	return ro, nil
}

// redacted is the URL without its password, for messages.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// ID is this replica's random identifier, as written in records.
func (s *Store) ID() string { return s.id }

// Close closes the connections. Run must have returned.
func (s *Store) Close() error {
	return s.rdb.Close()
}

// Track names the profiles and workspaces whose state this replica
// follows: the resync reads theirs. Call it at start and after each
// reload; names no longer listed stop being followed.
func (s *Store) Track(profiles, workspaces []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profiles = map[string]bool{}
	for _, p := range profiles {
		s.profiles[p] = true
	}
	s.spaces = map[string]bool{}
	for _, w := range workspaces {
		s.spaces[w] = true
	}
}

// op bounds one Redis operation by the timeout and records its outcome in
// Health. Errors come back wrapped in ErrUnavailable.
func (s *Store) op(ctx context.Context, what string, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if err := f(ctx); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return err // the caller gave up: not Redis's fault
		}
		err = fmt.Errorf("%w: %s at %s: %w", ErrUnavailable, what, s.where, err)
		s.degraded(err)
		return err
	}
	return nil
}

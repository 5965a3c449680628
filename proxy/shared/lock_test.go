package shared

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/redistest"
)

// TestRefreshOnceAcrossReplicas has five replicas ask, all at once, to
// replace the same rejected token: one refresh runs, with the shared
// refresh token, and every replica answers its result.
func TestRefreshOnceAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	var replicas []*replica
	for range 5 {
		r := startReplica(t, srv.URL(""), testKey)
		r.Track([]string{"p"}, nil)
		replicas = append(replicas, r)
	}
	for _, r := range replicas {
		waitState(t, r, StateConnected)
	}
	if _, err := replicas[0].Write(ctx, "p", "access-0", "refresh-0"); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var sentRefresh sync.Map
	raw := rawClient(t, srv.URL(""))
	refresh := func(ctx context.Context, cur Token) (Token, error) {
		n := calls.Add(1)
		sentRefresh.Store(cur.Refresh, true)
		// Refresh while every caller tries the lock (each try counts a
		// fencing number), so that none can see this result early.
		eventually(t, "every caller to try the lock", func() bool {
			f, _ := raw.Get(context.Background(), "test:fence").Int64()
			return f >= int64(len(replicas)*3) || calls.Load() > 1
		})
		return Token{Access: fmt.Sprintf("access-%d", n), Refresh: fmt.Sprintf("refresh-%d", n)}, nil
	}
	start := make(chan struct{})
	results := make([]Token, len(replicas)*3)
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = replicas[i%len(replicas)].Refresh(ctx, "p", "access-0", refresh)
		}()
	}
	close(start)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	if _, ok := sentRefresh.Load("refresh-0"); !ok {
		t.Error("the refresh did not send the shared refresh token")
	}
	for i, got := range results {
		if errs[i] != nil || got.Access != "access-1" || got.Refresh != "refresh-1" {
			t.Errorf("caller %d got %+v, %v", i, got, errs[i])
		}
	}
	t.Run("a later refresh of the replaced token answers at once", func(t *testing.T) {
		got, err := replicas[2].Refresh(ctx, "p", "access-0", refresh)
		if err != nil || got.Access != "access-1" || calls.Load() != 1 {
			t.Fatalf("Refresh = %+v, %v after %d refreshes", got, err, calls.Load())
		}
	})
}

// TestRefreshRereadsAfterFailure: when the refresh fails (invalid_grant)
// because another replica got there first, the newer token is used.
func TestRefreshRereadsAfterFailure(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := startReplica(t, srv.URL(""), testKey)
	other := startReplica(t, srv.URL(""), testKey)
	other.Track([]string{"p"}, nil)
	if _, err := a.Write(ctx, "p", "access-0", "refresh-0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "other holds version 1", func() bool { return other.Held("p").Version == 1 })
	errInvalidGrant := errors.New("invalid_grant")
	got, err := a.Refresh(ctx, "p", "access-0", func(ctx context.Context, cur Token) (Token, error) {
		// Another replica, whose lock had expired, finished first.
		if _, err := other.writeAt(ctx, "p", secret{Access: "access-other", Refresh: "refresh-other"}, cur.Version, modeDerived); err != nil {
			t.Error(err)
		}
		return Token{}, errInvalidGrant
	})
	if err != nil || got.Access != "access-other" {
		t.Fatalf("Refresh = %+v, %v; want access-other", got, err)
	}
	t.Run("with nothing newer the refresh's error is answered", func(t *testing.T) {
		_, err := a.Refresh(ctx, "p", "access-other", func(context.Context, Token) (Token, error) {
			return Token{}, errInvalidGrant
		})
		if !errors.Is(err, errInvalidGrant) {
			t.Fatalf("err = %v, want invalid_grant", err)
		}
	})
}

// TestLockExclusiveAndExpiring checks the refresh lock itself.
func TestLockExclusiveAndExpiring(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	short := func(o *Options) { o.LockTTL = 300 * time.Millisecond }
	a := startReplica(t, srv.URL(""), testKey, short)
	b := startReplica(t, srv.URL(""), testKey, short)

	fa, err := a.lock(ctx, "p")
	if err != nil || fa == 0 {
		t.Fatalf("first lock = %d, %v", fa, err)
	}
	if fb, err := b.lock(ctx, "p"); err != nil || fb != 0 {
		t.Fatalf("second lock while held = %d, %v; want 0", fb, err)
	}
	var fb int64
	eventually(t, "the lock to expire and b to take it", func() bool {
		fb, err = b.lock(ctx, "p")
		return err == nil && fb != 0
	})
	if fb <= fa {
		t.Errorf("fencing number %d not above %d", fb, fa)
	}
	a.unlock("p", fa) // expired holder: must not release b's lock
	if fc, err := a.lock(ctx, "p"); err != nil || fc != 0 {
		t.Fatalf("an expired holder's unlock released the new holder's lock (lock = %d, %v)", fc, err)
	}
	b.unlock("p", fb)
	if fc, err := a.lock(ctx, "p"); err != nil || fc == 0 {
		t.Fatalf("lock after release = %d, %v", fc, err)
	}
}

// TestLockKeptWhileRefreshing: a refresh longer than the lock's expiry
// keeps the lock, so no other replica refreshes meanwhile.
func TestLockKeptWhileRefreshing(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	// Renewed every ttl/3: a ttl of 1 s leaves a busy machine (-race,
	// other packages' tests) 600 ms of slack before a renewal is late.
	ttl := time.Second
	a := startReplica(t, srv.URL(""), testKey, func(o *Options) { o.LockTTL = ttl })
	b := startReplica(t, srv.URL(""), testKey, func(o *Options) { o.LockTTL = ttl })
	_, err := a.Refresh(ctx, "p", "old", func(ctx context.Context, cur Token) (Token, error) {
		began := time.Now()
		eventually(t, "three lock expiries to pass", func() bool { return time.Since(began) > 3*ttl })
		if f, err := b.lock(ctx, "p"); err != nil || f != 0 {
			t.Errorf("another replica took the lock during a refresh (%d, %v)", f, err)
		}
		return Token{Access: "new"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRefreshAfterRedisLostItsData: a refresh that runs before the resync
// restored what Redis lost is written above the version this replica
// holds, so the resync does not bring the rejected token back.
func TestRefreshAfterRedisLostItsData(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := startReplica(t, srv.URL(""), testKey)
	for _, tok := range []string{"t1", "t2", "t3"} {
		if _, err := a.Write(ctx, "p", tok, ""); err != nil {
			t.Fatal(err)
		}
	}
	raw := rawClient(t, srv.URL(""))
	if err := raw.FlushAll(ctx).Err(); err != nil { // as a restart without persistence
		t.Fatal(err)
	}
	got, err := a.Refresh(ctx, "p", "t3", func(context.Context, Token) (Token, error) { return Token{Access: "t4"}, nil })
	if err != nil || got.Access != "t4" || got.Version <= 3 {
		t.Fatalf("Refresh = %+v, %v; want t4 above version 3", got, err)
	}
	if held := a.Held("p"); held.Access != "t4" {
		t.Fatalf("held %+v, want t4", held)
	}
}

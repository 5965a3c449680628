package shared

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/notion-proxy/notion-proxy/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// rawClient talks to the test Redis directly, as an outsider would.
func rawClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestWriteVersions(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := startReplica(t, srv.URL(""), testKey)
	b := startReplica(t, srv.URL(""), testKey)
	waitState(t, a, StateConnected)
	waitState(t, b, StateConnected)

	first, err := a.Write(ctx, "p", "token-1", "")
	if err != nil || first.Version != 1 || first.Access != "token-1" {
		t.Fatalf("first write = %+v, %v", first, err)
	}
	t.Run("a new token from any replica is the next version", func(t *testing.T) {
		got, err := b.Write(ctx, "p", "token-2", "")
		if err != nil || got.Version != 2 || got.Access != "token-2" {
			t.Fatalf("Write = %+v, %v", got, err)
		}
	})
	t.Run("writing the current token changes nothing", func(t *testing.T) {
		eventually(t, "a holds version 2", func() bool { return a.Held("p").Version == 2 })
		got, err := a.Write(ctx, "p", "token-2", "")
		if err != nil || got.Version != 2 {
			t.Fatalf("Write = %+v, %v", got, err)
		}
	})
	t.Run("a replaced token does not come back from a replica starting with it", func(t *testing.T) {
		late := startReplica(t, srv.URL(""), testKey)
		got, err := late.Write(ctx, "p", "token-1", "")
		if err != nil || got.Access != "token-2" || got.Version != 2 {
			t.Fatalf("Write of a replaced token = %+v, %v; want token-2 at version 2", got, err)
		}
	})
	t.Run("a token derived from an old version loses to a newer one", func(t *testing.T) {
		got, err := a.writeAt(ctx, "p", secret{Access: "derived-from-1"}, 1, modeDerived)
		if err != nil || got.Access != "token-2" {
			t.Fatalf("derived write = %+v, %v; want token-2", got, err)
		}
	})
	t.Run("a new token is taken even by a replica that missed versions", func(t *testing.T) {
		late := startReplica(t, srv.URL(""), testKey)
		got, err := late.Write(ctx, "p", "token-3", "")
		if err != nil || got.Access != "token-3" || got.Version != 3 {
			t.Fatalf("Write = %+v, %v; want token-3 at version 3", got, err)
		}
	})
}

// TestVersionsNeverGoBackwards has replicas write concurrently and reads
// the channel as an outsider: versions only rise, and each message is one
// stored version.
func TestVersionsNeverGoBackwards(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	raw := rawClient(t, srv.URL(""))
	sub := raw.Subscribe(ctx, "test:events")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	const replicas, writes = 4, 25
	var wg sync.WaitGroup
	for i := range replicas {
		r := startReplica(t, srv.URL(""), testKey, func(o *Options) { o.Timeout = waitFor })
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range writes {
				if _, err := r.Write(ctx, "p", fmt.Sprintf("token-%d-%d", i, j), ""); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	final, err := raw.HGet(ctx, "test:token:p", "v").Int64()
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for n := int64(0); n < final; n++ {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(msg.Payload, `"v":`)
		v, _ := strconv.ParseInt(strings.TrimRight(strings.SplitN(msg.Payload[i+4:], ",", 2)[0], "}"), 10, 64)
		if v <= last {
			t.Fatalf("message version %d after %d", v, last)
		}
		if strings.Contains(msg.Payload, "token-") {
			t.Fatalf("a message carries a token in clear: %s", msg.Payload)
		}
		last = v
	}
	if last != final {
		t.Fatalf("last message version %d, stored %d", last, final)
	}
	if final < writes {
		t.Fatalf("only %d versions for %d distinct tokens per replica", final, writes)
	}
}

func TestSealedAtRest(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := startReplica(t, srv.URL(""), testKey)
	if _, err := a.Write(ctx, "p", "ntn_clear_access", "clear-refresh"); err != nil {
		t.Fatal(err)
	}
	t.Run("Redis holds no token in clear", func(t *testing.T) {
		raw := rawClient(t, srv.URL(""))
		keys, err := raw.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			dump, _ := raw.Dump(ctx, k).Result()
			fields, _ := raw.HGetAll(ctx, k).Result()
			if strings.Contains(dump+fmt.Sprint(fields), "clear") {
				t.Errorf("key %s holds a token in clear", k)
			}
		}
	})
	t.Run("a replica with another key cannot read it", func(t *testing.T) {
		other := startReplica(t, srv.URL(""), []byte(strings.Repeat("x", KeySize)))
		got, err := other.Read(ctx, "p")
		if err == nil || !strings.Contains(err.Error(), "cannot be opened") {
			t.Fatalf("Read with another key = %+v, %v", got, err)
		}
		if got.Access != "" {
			t.Fatal("token read with another key")
		}
	})
	t.Run("a replica with the same key reads it", func(t *testing.T) {
		same := startReplica(t, srv.URL(""), testKey)
		got, err := same.Read(ctx, "p")
		if err != nil || got.Access != "ntn_clear_access" || got.Refresh != "clear-refresh" {
			t.Fatalf("Read = %+v, %v", got, err)
		}
	})
}

package shared

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/notion-proxy/notion-proxy/internal/redistest"
)

// TestRedisKilledAndBack: with Redis gone, operations fail with
// ErrUnavailable and Health says degraded; when it is back (empty), the
// replicas resync: the record they held and the write made meanwhile are
// in Redis again.
func TestRedisKilledAndBack(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := startReplica(t, srv.URL(""), testKey)
	b := startReplica(t, srv.URL(""), testKey)
	a.Track([]string{"p", "q"}, nil)
	b.Track([]string{"p", "q"}, nil)
	waitState(t, a, StateConnected)
	if _, err := a.Write(ctx, "p", "p-token-1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(ctx, "q", "q-token-1", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b holds both", func() bool { return b.Held("p").Version == 1 && b.Held("q").Version == 1 })

	srv.Kill()
	t.Run("operations fail with ErrUnavailable and health is degraded", func(t *testing.T) {
		_, err := a.Write(ctx, "q", "q-token-2", "")
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Write err = %v, want ErrUnavailable", err)
		}
		if _, err := a.Refresh(ctx, "p", "p-token-1", nil); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Refresh err = %v, want ErrUnavailable", err)
		}
		if err := a.Reject(ctx, "p", "p-token-1"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Reject err = %v, want ErrUnavailable", err)
		}
		waitState(t, a, StateDegraded)
		waitState(t, b, StateDegraded)
		if h := b.Health(); h.LastError == "" {
			t.Errorf("degraded without an error: %+v", h)
		}
	})

	srv.Restart()
	t.Run("when Redis is back the replicas resync", func(t *testing.T) {
		waitState(t, a, StateConnected)
		waitState(t, b, StateConnected)
		fresh := startReplica(t, srv.URL(""), testKey)
		eventually(t, "the records to be back in Redis", func() bool {
			p, err1 := fresh.Read(ctx, "p")
			q, err2 := fresh.Read(ctx, "q")
			return err1 == nil && err2 == nil && p.Access == "p-token-1" && p.Version == 1 && q.Access == "q-token-2"
		})
		eventually(t, "b uses the write a made while Redis was away", func() bool { return b.Held("q").Access == "q-token-2" })
	})
}

// TestRedisThatNeverAnswers: every operation returns (bounded by the
// timeout) with ErrUnavailable, and Health is degraded with the reason.
func TestRedisThatNeverAnswers(t *testing.T) {
	silent := redistest.StartSilent(t)
	ctx := context.Background()
	a := startReplica(t, silent.URL(), testKey)
	if _, err := a.Write(ctx, "p", "token", ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Write err = %v, want ErrUnavailable", err)
	}
	if _, err := a.Read(ctx, "p"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Read err = %v, want ErrUnavailable", err)
	}
	waitState(t, a, StateDegraded)
	if h := a.Health(); !strings.Contains(h.LastError, "timeout") {
		t.Errorf("LastError = %q, want a timeout", h.LastError)
	}
}

// TestWrongPassword: a clear error, degraded, and the password not shown.
func TestWrongPassword(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "right-password")
	ctx := context.Background()
	a := startReplica(t, srv.URL("WRONG-SECRET"), testKey)
	_, err := a.Write(ctx, "p", "token", "")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("Write err = %v, want ErrUnavailable with WRONGPASS", err)
	}
	waitState(t, a, StateDegraded)
	if h := a.Health(); strings.Contains(h.LastError, "WRONG-SECRET") || strings.Contains(err.Error(), "WRONG-SECRET") {
		t.Errorf("the password is shown: %q / %v", h.LastError, err)
	}
	ok := startReplica(t, srv.URL("right-password"), testKey)
	if _, err := ok.Write(ctx, "p", "token", ""); err != nil {
		t.Fatalf("with the right password: %v", err)
	}
	waitState(t, ok, StateConnected)
}

package shared

import (
	"context"
	"strings"
	"testing"

	"github.com/notion-proxy/notion-proxy/internal/redistest"
)

// recipePassword looks like the base64 of random bytes that a recipe
// makes: it holds /, + and =, which break a redis:// URL unescaped.
const recipePassword = "x9/Qe+Lr4mZ/0aB+c7=="

// TestPasswordOutsideTheURL: a password given as Options.Password, with
// characters a URL reserves, reaches a Redis that requires it; the same
// password put raw in the URL is refused with the fix, never shown.
func TestPasswordOutsideTheURL(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", recipePassword)
	t.Run("Options.Password is used as is", func(t *testing.T) {
		r := startReplica(t, srv.URL(""), testKey, func(o *Options) { o.Password = recipePassword })
		waitState(t, r, StateConnected)
		if _, err := r.Write(context.Background(), "p", "p-token-1", ""); err != nil {
			t.Fatalf("Write: %v", err)
		}
	})
	t.Run("without it the server refuses", func(t *testing.T) {
		r := startReplica(t, srv.URL(""), testKey)
		waitState(t, r, StateDegraded)
		if h := r.Health(); !strings.Contains(h.LastError, "NOAUTH") {
			t.Errorf("last error %q, want NOAUTH", h.LastError)
		}
	})
	t.Run("the same password raw in the URL is refused with the fix", func(t *testing.T) {
		_, err := New(Options{URL: srv.URL(recipePassword), Key: testKey})
		if err == nil || !strings.Contains(err.Error(), "shared.password_env") || strings.Contains(err.Error(), "x9") {
			t.Errorf("New err = %v, want a refusal naming shared.password_env without the password", err)
		}
	})
}

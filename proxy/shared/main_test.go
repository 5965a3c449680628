package shared

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives its Store, and keeps the
// Redis client's own messages out of the test output.
func TestMain(m *testing.M) {
	redis.SetLogger(DriverLog{Log: zerolog.Nop()})
	goleak.VerifyTestMain(m)
}

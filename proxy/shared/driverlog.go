package shared

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
)

// DriverLog carries the Redis client's own messages (a failed dial, a
// pool problem) to the proxy's log at debug level, as one JSON line each:
// the client otherwise prints them to stderr in a format of its own. The
// state they explain is already reported by Health and logged once. The
// client's logger is process-wide, so main sets it:
//
//	redis.SetLogger(shared.DriverLog{Log: log})
type DriverLog struct{ Log zerolog.Logger }

// Printf logs one message of the Redis client.
func (d DriverLog) Printf(_ context.Context, format string, v ...any) {
	d.Log.Debug().Str("component", "redis-client").Msg(fmt.Sprintf(format, v...))
}

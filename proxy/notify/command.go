package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/capped"
)

// runCommand runs the configured command for ev: no shell, ev as one line
// of JSON on stdin, its kind, profile and text in the environment (with
// only the variables commandEnv passes), at most n.cmdLimit. Its stderr
// is logged; its stdout is ignored.
func (n *Notifier) runCommand(ev Event) {
	argv := n.cfg.Load().Command
	if len(argv) == 0 {
		return // removed from the config meanwhile
	}
	line, err := json.Marshal(ev)
	if err != nil {
		n.outcome(SinkCommand, OutcomeFailed)
		return
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cmdLimit)
	defer cancel()
	stderr := capped.New(8 << 10)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...) // never through a shell
	cmd.Stdin = bytes.NewReader(append(line, '\n'))
	cmd.Stderr = stderr
	// Never the proxy's secrets: only the variables commandEnv allows.
	cmd.Env = commandEnv(cmd.Environ(), ev)
	cmd.WaitDelay = time.Second // a child that keeps stderr open cannot hold the queue
	err = cmd.Run()
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		n.log.Warn().Str("event", ev.Event).Str("command", argv[0]).Str("stderr", msg).Msg("notify command wrote to stderr")
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		n.outcome(SinkCommand, OutcomeFailed)
		n.log.Warn().Str("event", ev.Event).Str("profile", ev.Profile).Str("command", argv[0]).Str("limit", n.cmdLimit.String()).
			Msg("notify command took longer than its limit: killed")
		return
	}
	if err != nil {
		n.outcome(SinkCommand, OutcomeFailed)
		n.log.Warn().Str("event", ev.Event).Str("profile", ev.Profile).Str("command", argv[0]).Err(err).
			Msg("notify command failed")
		return
	}
	n.outcome(SinkCommand, OutcomeOK)
}

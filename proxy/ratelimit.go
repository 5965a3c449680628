package proxy

import (
	"context"
	"errors"
	"net/http"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Wiring of the per-profile rate-limit scheduler (package schedule,
// docs/design.md#the-rate-limit-scheduler) into a call's round trip: every send of a profile's call is
// granted by the profile's scheduler, and told back how it went; a 429 or
// 529 holds the profile (and, when its rate_limit_reason names the
// workspace, every profile with the same workspace label) instead of
// making only its own call sleep.

// schedule waits for the profile's scheduler to let c's next send go. It
// returns errRateLimitGaveUp when the call would wait past retry.max_wait,
// counting everything it waited before (the call then gets Notion's 429),
// or ctx's error.
func (s *Server) schedule(ctx context.Context, c *call) error {
	if c.oauth {
		return nil
	}
	start := s.now()
	// What is left of the call's one budget (back-offs included), under
	// the retry settings current now, as for every send.
	budget := s.runtime().cfg.Retry.MaxWait - c.waited
	waited, err := c.profile.sched.Acquire(ctx, c.seq, budget)
	if waited {
		c.waitedForRate = true
		c.waited += s.now().Sub(start)
	}
	switch {
	case err == nil:
		c.scheduled = true
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	s.log.Debug().Err(err).Float64("budget_ms", millis(budget)).Msg("rate-limit wait given up")
	return errRateLimitGaveUp
}

// errRateLimitGaveUp: a call that would wait for a rate-limit hold past
// retry.max_wait, or whose profile went away while it waited.
var errRateLimitGaveUp = errors.New("rate-limit hold outlasts retry.max_wait")

// sent tells the scheduler that c's granted send is over. accepted: Notion
// answered with anything but a 429 or 529.
func (c *call) sent(accepted bool) {
	if c.scheduled {
		c.scheduled = false
		c.profile.sched.Done(accepted)
	}
}

// holdProfile reads a 429 or 529 answer, holds the call's profile until
// its Retry-After (and the profiles of its workspace, when the answer
// names the workspace limit) and returns the answer to pass on if the call
// is not sent again: a Notion-sized answer is kept (c.last429) and
// replayable; a longer one (never Notion's) still holds the profile by its
// Retry-After header, and is passed on whole.
func (s *Server) holdProfile(c *call, req *http.Request, resp *http.Response) (*http.Response, error) {
	ans, long, err := peekAnswer(resp)
	if err != nil {
		return nil, err
	}
	var body []byte
	if ans != nil {
		c.last429, body = ans, ans.Body
		resp = responseOf(ans, req)
	} else {
		resp = long
	}
	if c.oauth {
		return resp, nil
	}
	reason := rewrite.RateLimitReason(body)
	d, _ := rewrite.RetryAfter(resp.Header.Get("Retry-After"), s.now())
	p := c.profile
	if ans != nil {
		p.last429.Store(ans)
	}
	before := p.sched.Status()
	until := p.sched.Hold(d, resp.StatusCode, reason)
	s.shareHold(p, until, reason, ans)
	if ws := p.config().Workspace; ws != "" && rewrite.NamesWorkspace(reason) {
		for _, other := range s.profiles.all() {
			if other != p && other.config().Workspace == ws {
				if ans != nil {
					other.last429.Store(ans)
				}
				other.sched.HoldFor(until.Sub(s.now()), reason)
			}
		}
	}
	s.log.Debug().Str("profile", p.name).Int("status", resp.StatusCode).Str("reason", reason).
		Time("until", until).Str("was", before.State).Float64("pace", before.Pace).
		Int("waiting", before.Waiting).Int64("inflight", before.Inflight).Msg("rate limited: profile held")
	return resp, nil
}

// rateLimitAnswer is what a call that gives up waiting for a hold gets:
// its own last 429, else the one that held its profile.
func (c *call) rateLimitAnswer() *gate.Answer {
	if c.last429 != nil {
		return c.last429
	}
	if a := c.profile.last429.Load(); a != nil {
		return a
	}
	return notionError(http.StatusTooManyRequests, "rate_limited", "You have been rate limited. Please try again later.")
}

// closeScheduler answers the calls waiting in p's scheduler (shutdown, or
// p removed by a reload).
func closeScheduler(p *profile, err error) { p.sched.Close(err) }

package integration_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// With rate_limit set, the scheduler alone decides when a call goes out: a
// call waiting for rate_limit waits in its queue, so a 429's hold stops it
// too (docs/design.md#the-rate-limit-scheduler). Read from the fake's
// record: sends counted inside the hold, with margins, not timed.
func TestRateLimitCallsWaitOutAHold(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\nrate_limit: {rps: 20, burst: 1}\nretry: {max_wait: 30s}\n")
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, callHeader(fmt.Sprintf("c%d-%d", i, n))); code != 200 {
					t.Errorf("call c%d-%d: %d %s", i, n, code, body)
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	// Calls flow at rate_limit, most of them waiting for it (about 5 s:
	// slow start has let most of the callers out).
	testwait.Until(t, 20*time.Second, "100 calls sent", func() bool { return len(fake.Requests()) >= 100 })
	fake.FailNext(1, 429, "3")
	var at time.Time // when the 429's call reached the fake
	testwait.Until(t, 20*time.Second, "a send after the 3 s hold", func() bool {
		reqs := fake.Requests()
		for _, r := range reqs {
			if r.Outcome == fakenotion.OutcomeInjected {
				at = r.Time
			}
		}
		return !at.IsZero() && reqs[len(reqs)-1].Time.After(at.Add(3200*time.Millisecond))
	})
	stop.Store(true)
	wg.Wait()
	// The hold runs from the 429's answer to at least 3 s after its call
	// arrived; calls granted just before it may still be on their way.
	from, to := at.Add(200*time.Millisecond), at.Add(2800*time.Millisecond)
	var inside, after int
	for _, r := range fake.Requests() {
		if r.Time.After(from) && r.Time.Before(to) {
			inside++
		}
		if r.Time.After(at.Add(3 * time.Second)) {
			after++
		}
	}
	t.Logf("sends in the hold's [+0.2 s, +2.8 s]: %d; after it: %d", inside, after)
	if inside != 0 {
		t.Errorf("%d sends reached the fake during the 429's 3 s hold, want none", inside)
	}
}

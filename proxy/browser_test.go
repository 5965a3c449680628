package proxy

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRefusalLogIsRateLimitedPerKey(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		key            string
		at             time.Duration
		wantLog        bool
		wantSuppressed int
	}{
		{"the first refusal of a host is logged", "host_not_allowed evil.test", 0, true, 0},
		{"a second within the minute is not", "host_not_allowed evil.test", 10 * time.Second, false, 0},
		{"nor a third", "host_not_allowed evil.test", 59 * time.Second, false, 0},
		{"another host is logged at once", "host_not_allowed other.test", 59 * time.Second, true, 0},
		{"a minute later the host is logged again, with the count it held back", "host_not_allowed evil.test", time.Minute, true, 2},
		{"and then held back again", "host_not_allowed evil.test", time.Minute + time.Second, false, 0},
	}
	f := newRefusals(prometheus.NewRegistry())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := f.shouldLog(tt.key, t0.Add(tt.at))
			if ok != tt.wantLog || (ok && n != tt.wantSuppressed) {
				t.Errorf("shouldLog = %d, %v; want %d, %v", n, ok, tt.wantSuppressed, tt.wantLog)
			}
		})
	}
}

func TestRefusalLogMemoryIsBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := newRefusals(prometheus.NewRegistry())
	logged := 0
	for i := range 10 * maxRefusalKeys {
		if _, ok := f.shouldLog(fmt.Sprintf("host_not_allowed h%d.test", i), t0.Add(time.Duration(i)*time.Millisecond)); ok {
			logged++
		}
	}
	if len(f.seen) > maxRefusalKeys+1 {
		t.Errorf("%d keys remembered after %d distinct hosts, want at most %d", len(f.seen), 10*maxRefusalKeys, maxRefusalKeys+1)
	}
	// 10,240 hosts over about 10 s: each of the first maxRefusalKeys is
	// logged, then the rest share one line.
	if logged != maxRefusalKeys+1 {
		t.Errorf("%d lines logged, want %d", logged, maxRefusalKeys+1)
	}
	// A minute on, the old keys are forgotten and new hosts are logged.
	if _, ok := f.shouldLog("host_not_allowed late.test", t0.Add(2*time.Minute)); !ok {
		t.Error("a new host two minutes later was not logged")
	}
	if len(f.seen) > 2 {
		t.Errorf("%d keys remembered after every old one expired, want at most 2", len(f.seen))
	}
}

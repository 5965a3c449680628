// Package testwait is the tests' one way to wait for something to happen:
// poll a condition until it holds, failing the test at a deadline, instead
// of sleeping for a guessed time.
package testwait

import (
	"testing"
	"time"
)

// pollEvery is how often Until asks again.
const pollEvery = 5 * time.Millisecond

// Until polls cond until it holds, or fails t (naming what it waited for)
// once timeout has passed. The timeout bounds the test, it is no
// measurement: make it generous.
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pollEvery)
	}
}

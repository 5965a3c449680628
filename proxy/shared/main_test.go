package shared

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives its Store.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

package fake_test

import (
	"testing"

	"github.com/sgpilot/sgpilot/shared/testkit/ecstest"
)

// The fake's rules behave like the adapter's on the emulator
// (shared/adapter/ecsapi runs the same cases).
func TestECS_RuleConformance(t *testing.T) {
	ecstest.RunRules(t, fakeHarness)
}

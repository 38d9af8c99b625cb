package ecsapi_test

import (
	"testing"

	"github.com/sgpilot/sgpilot/shared/testkit/ecstest"
)

// The rule cases of the conformance suite, against the emulator (the fake
// runs them too).
func TestClient_RuleConformance(t *testing.T) {
	ecstest.RunRules(t, emulatorHarness)
}

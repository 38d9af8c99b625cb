package events_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
)

// MustRead returns a fixture from testdata.
func MustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// MustEnvelope decodes a fixture holding exactly one envelope.
func MustEnvelope(tb testing.TB, name string) events.Envelope {
	tb.Helper()
	envs, err := events.DecodeEnvelopes(MustRead(tb, name))
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if len(envs) != 1 {
		tb.Fatalf("%s: %d envelopes, want 1", name, len(envs))
	}
	return envs[0]
}

// ecsEnvelope is a StateChange/ActionTrail envelope around data.
func ecsEnvelope(typ, data string) events.Envelope {
	return events.Envelope{ID: "ev-1", Source: events.SourceECS, SpecVersion: "1.0", Type: typ,
		Time: "2024-05-01T08:00:00Z", AccountID: "1234567890123456", RegionID: "cn-hangzhou", Data: []byte(data)}
}

func wantInvalid(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		tb.Fatal("want a KindInvalid error, got nil")
	}
	if k := domain.KindOf(err); k != domain.KindInvalid {
		tb.Fatalf("kind = %v, want invalid (err: %v)", k, err)
	}
}

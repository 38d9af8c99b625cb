package events_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
)

// addFixtureSeeds seeds f with every testdata file plus a few edge cases.
func addFixtureSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `[`, `{}`, `[{}]`, `null`, `[null]`, ` [ {"id":"a","source":"acs.ecs","type":"ecs:Instance:StateChange","data":null} ] `,
		`{"id":"a","source":"acs.ecs","type":"ecs:ActionTrail:ApiCall","data":{"eventName":"RunInstances","responseElements":"\"x\""}}`,
		`{"id":"a","source":"acs.ecs","type":"ecs:Instance:StateChange","data":{"resourceId":"acs:","state":"Created","content":{}}}`} {
		f.Add([]byte(s))
	}
}

// FuzzDecodeEnvelopes: any input decodes or fails with KindInvalid; it never
// panics, and what decodes carries the mandatory attributes.
func FuzzDecodeEnvelopes(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		envs, err := events.DecodeEnvelopes(raw)
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("error of kind %v: %v", domain.KindOf(err), err)
			}
			return
		}
		if len(envs) == 0 {
			t.Fatal("no error and no envelopes")
		}
		for _, e := range envs {
			if e.ID == "" || e.Source == "" || e.Type == "" {
				t.Fatalf("envelope missing attributes: %+v", e)
			}
		}
		_, _ = events.DecodeQueueMessages(raw)
		_, _ = events.Detect(raw)
	})
}

// FuzzParseInstanceEvent: every decodable envelope parses to a usable event,
// an *UnrelatedError or a KindInvalid error; never a panic.
func FuzzParseInstanceEvent(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		items, err := events.SplitBatch(raw)
		if err != nil {
			return
		}
		for _, item := range items {
			env, err := events.DecodeEnvelope(item)
			if err != nil {
				continue
			}
			ev, err := events.ParseInstanceEvent(env)
			switch {
			case errors.Is(err, events.ErrUnrelated):
			case err != nil:
				if domain.KindOf(err) != domain.KindInvalid {
					t.Fatalf("error of kind %v: %v", domain.KindOf(err), err)
				}
			default:
				if len(ev.InstanceIDs) == 0 || ev.RegionID == "" {
					t.Fatalf("parsed event without instances or region: %+v", ev)
				}
				if ev.Trigger != events.TriggerStateChange && ev.Trigger != events.TriggerAPICall && ev.Trigger != events.TriggerTagChange {
					t.Fatalf("trigger %q", ev.Trigger)
				}
				for _, id := range ev.InstanceIDs {
					if id == "" {
						t.Fatalf("empty instance ID in %+v", ev)
					}
				}
			}
		}
	})
}

// FuzzDecodeQueueItems: a delivery either fails as a whole with
// KindInvalid, or yields one item per element, each a message or a
// KindInvalid error; it never panics.
func FuzzDecodeQueueItems(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		items, err := events.DecodeQueueItems(raw)
		if err != nil {
			if domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("batch error of kind %v: %v", domain.KindOf(err), err)
			}
			return
		}
		if len(items) == 0 {
			t.Fatal("no items and no error")
		}
		for i, it := range items {
			if it.Err != nil && domain.KindOf(it.Err) != domain.KindInvalid {
				t.Fatalf("item %d: error of kind %v: %v", i, domain.KindOf(it.Err), it.Err)
			}
			if it.Err == nil && it.Message.MessageID == "" {
				t.Fatalf("item %d decoded without a message ID", i)
			}
		}
	})
}

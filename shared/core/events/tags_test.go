package events_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/events"
)

func TestParseInstanceEvent_MembershipFixtures(t *testing.T) {
	tagTime := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	tagEvent := func(id, api string, ids, keys []string) events.InstanceEvent {
		return events.InstanceEvent{EventID: id, Source: "acs.ecs", Type: events.TypeAPICall, AccountID: "1234567890123456",
			RegionID: "cn-hangzhou", InstanceIDs: ids, APIName: api, Trigger: events.TriggerTagChange, Time: tagTime, TagKeys: keys}
	}
	one := []string{"i-bp1aaaaaaaaaaaaaaaa1"}
	cases := []struct {
		file string
		want events.InstanceEvent
	}{
		{"statechange-running.json", events.InstanceEvent{
			EventID: "e38e6097-2b1c-4d6e-9f90-8c0d1e2f3a14", Source: "acs.ecs", Type: events.TypeStateChange,
			AccountID: "1234567890123456", RegionID: "cn-hangzhou", InstanceIDs: one,
			State: "Running", Trigger: events.TriggerStateChange, Time: time.Date(2024, 5, 1, 8, 0, 41, 0, time.UTC)}},
		{"actiontrail-tagresources.json", tagEvent("8d2e0a31-6b5c-4d0e-9f3a-2c4d5e6f7a08", "TagResources",
			[]string{"i-bp1aaaaaaaaaaaaaaaa1", "i-bp1aaaaaaaaaaaaaaaa2"}, []string{"owner", "sgpilot:role"})},
		{"actiontrail-untagresources.json", tagEvent("9e3f1b42-7c6d-4e1f-8a4b-3d5e6f7a8b09", "UntagResources", one, []string{"sgpilot:role"})},
		{"actiontrail-addtags.json", tagEvent("af4a2c53-8d7e-4f2a-9b5c-4e6f7a8b9c10", "AddTags", one, []string{"sgpilot:role"})},
		{"actiontrail-removetags.json", tagEvent("b05b3d64-9e8f-4a3b-8c6d-5f7a8b9c0d11", "RemoveTags", one, []string{"sgpilot:role"})},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := events.ParseInstanceEvent(MustEnvelope(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !got.TouchesTag("sgpilot:role") {
				t.Errorf("does not touch the role tag")
			}
		})
	}
}

func TestParseInstanceEvent_TagCalls(t *testing.T) {
	trail := func(params string) events.Envelope {
		return ecsEnvelope(events.TypeAPICall, `{"eventName":"TagResources","acsRegion":"cn-hangzhou","requestParameters":`+params+`}`)
	}
	t.Run("unrelated", func(t *testing.T) {
		cases := []struct {
			name   string
			env    events.Envelope
			reason string
		}{
			{"tags on a group", MustEnvelope(t, "actiontrail-tagresources-group.json"), `not on instances`},
			{"failed call", MustEnvelope(t, "actiontrail-tagresources-failed.json"), "failed with NoPermission.Tag"},
			{"dry run", trail(`{"ResourceType":"instance","ResourceId.1":"i-bp1aaaaaaaaaaaaaaaa1","DryRun":"true"}`), "DryRun"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := events.ParseInstanceEvent(tc.env)
				reason, ok := events.UnrelatedReason(err)
				if !errors.Is(err, events.ErrUnrelated) || !ok || !strings.Contains(reason, tc.reason) {
					t.Fatalf("err = %v, want unrelated with %q", err, tc.reason)
				}
			})
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for name, params := range map[string]string{
			"no resource":         `{"ResourceType":"instance","Tag.1.Key":"k"}`,
			"no resource type":    `{"ResourceId.1":"i-bp1aaaaaaaaaaaaaaaa1"}`,
			"resource not string": `{"ResourceType":"instance","ResourceId.1":{"x":1}}`,
			"not an object":       `[1,2]`,
			"other region":        `{"ResourceType":"instance","ResourceId.1":"i-bp1aaaaaaaaaaaaaaaa1","RegionId":"cn-beijing"}`,
		} {
			t.Run(name, func(t *testing.T) {
				_, err := events.ParseInstanceEvent(trail(params))
				wantInvalid(t, err)
			})
		}
		_, err := events.ParseInstanceEvent(ecsEnvelope(events.TypeAPICall, `{"eventName":"UntagResources"}`))
		wantInvalid(t, err)
	})
	t.Run("shapes", func(t *testing.T) {
		cases := []struct {
			name    string
			params  string
			ids     []string
			touches bool
		}{
			{"list of IDs", `{"ResourceType":"instance","ResourceId":["i-bp1aaaaaaaaaaaaaaaa2","i-bp1aaaaaaaaaaaaaaaa1"],"Tag.1.Key":"sgpilot:role"}`,
				[]string{"i-bp1aaaaaaaaaaaaaaaa1", "i-bp1aaaaaaaaaaaaaaaa2"}, true},
			{"params as a string", `"{\"ResourceType\":\"instance\",\"ResourceId.1\":\"i-bp1aaaaaaaaaaaaaaaa1\",\"Tag.1.Key\":\"env\"}"`,
				[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, false},
			{"other key only", `{"ResourceType":"instance","ResourceId.1":"i-bp1aaaaaaaaaaaaaaaa1","TagKey.1":"env"}`,
				[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, false},
			{"untag all", `{"ResourceType":"instance","ResourceId.1":"i-bp1aaaaaaaaaaaaaaaa1","All":true}`,
				[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, true},
			{"keys unknown", `{"ResourceType":"Instance","ResourceId.1":"i-bp1aaaaaaaaaaaaaaaa1"}`,
				[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ev, err := events.ParseInstanceEvent(trail(tc.params))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.ids, ev.InstanceIDs); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
				if got := ev.TouchesTag("sgpilot:role"); got != tc.touches {
					t.Errorf("TouchesTag = %v, want %v (keys %v, all %v)", got, tc.touches, ev.TagKeys, ev.AllTags)
				}
			})
		}
	})
}

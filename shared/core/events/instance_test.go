package events_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/events"
)

func TestParseInstanceEvent_Fixtures(t *testing.T) {
	cases := []struct {
		file string
		want events.InstanceEvent
	}{
		{"statechange-flat.json", events.InstanceEvent{
			EventID: "b1f0c6de-8d2a-4a6e-9a5f-2f7c1e0d0a01", Source: "acs.ecs", Type: events.TypeStateChange,
			AccountID: "1234567890123456", RegionID: "cn-hangzhou", InstanceIDs: []string{"i-bp1aaaaaaaaaaaaaaaa1"},
			State: "Created", Trigger: events.TriggerStateChange, Time: time.Date(2024, 5, 1, 8, 0, 3, 0, time.UTC)}},
		{"statechange-nested.json", events.InstanceEvent{
			EventID: "c2a1d7ef-9e3b-4b7f-8a60-3a8d2f1e1b02", Source: "acs.ecs", Type: events.TypeStateChange,
			AccountID: "1234567890123456", RegionID: "cn-shanghai", InstanceIDs: []string{"i-uf6bbbbbbbbbbbbbbbb2"},
			State: "Created", Trigger: events.TriggerStateChange, Time: time.Date(2024, 5, 1, 8, 10, 7, 0, time.UTC)}},
		{"actiontrail-runinstances.json", events.InstanceEvent{
			EventID: "4c7d2e10-5f3a-4b8c-9d1e-0a2b3c4d5e06", Source: "acs.ecs", Type: events.TypeAPICall,
			AccountID: "1234567890123456", RegionID: "cn-hangzhou",
			InstanceIDs: []string{"i-bp1aaaaaaaaaaaaaaaa1", "i-bp1aaaaaaaaaaaaaaaa2"},
			APIName:     "RunInstances", Trigger: events.TriggerAPICall, Time: time.Date(2024, 5, 1, 8, 0, 1, 0, time.UTC)}},
		{"actiontrail-createinstance.json", events.InstanceEvent{
			EventID: "5d8e3f21-6a4b-4c9d-8e2f-1b3c4d5e6f07", Source: "acs.ecs", Type: events.TypeAPICall,
			AccountID: "1234567890123456", RegionID: "cn-hangzhou", InstanceIDs: []string{"i-bp1cccccccccccccccc3"},
			APIName: "CreateInstance", Trigger: events.TriggerAPICall, Time: time.Date(2024, 5, 1, 8, 20, 11, 0, time.UTC)}},
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
			// Round trip through JSON (summaries and logs carry it).
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var back events.InstanceEvent
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("JSON round trip (-before +after):\n%s", diff)
			}
		})
	}
}

func TestParseInstanceEvent_Shapes(t *testing.T) {
	cases := []struct {
		name    string
		env     events.Envelope
		ids     []string
		region  string
		account string
		state   string
	}{
		{"flat with ARN resourceId",
			ecsEnvelope(events.TypeStateChange, `{"resourceId":"acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1aaaaaaaaaaaaaaaa1","resourceType":"ALIYUN::ECS::Instance","state":"Created"}`),
			[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", "Created"},
		{"flat without resourceType or regionId",
			ecsEnvelope(events.TypeStateChange, `{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","state":"Created"}`),
			[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", "Created"},
		{"state in another case",
			ecsEnvelope(events.TypeStateChange, `{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","state":"created"}`),
			[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", "created"},
		{"nested with empty content resourceId falls back to the ARN",
			ecsEnvelope(events.TypeStateChange, `{"resourceId":"acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1aaaaaaaaaaaaaaaa1","content":{"state":"Created"}}`),
			[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", "Created"},
		{"region and account from the ARN when the envelope lacks them",
			events.Envelope{ID: "ev-2", Source: "acs.ecs", Type: events.TypeStateChange,
				Data: []byte(`{"resourceId":"acs:ecs:cn-beijing:2234567890123456:instance/i-2zeaaaaaaaaaaaaaaaa1","state":"Created"}`)},
			[]string{"i-2zeaaaaaaaaaaaaaaaa1"}, "cn-beijing", "2234567890123456", "Created"},
		{"api call: region from acsRegion, account from userIdentity (a number)",
			events.Envelope{ID: "ev-3", Source: "acs.ecs", Type: events.TypeAPICall,
				Data: []byte(`{"eventName":"CreateInstance","acsRegion":"cn-qingdao","userIdentity":{"accountId":1234567890123456},"responseElements":{"InstanceId":"i-m5eaaaaaaaaaaaaaaaa1"}}`)},
			[]string{"i-m5eaaaaaaaaaaaaaaaa1"}, "cn-qingdao", "1234567890123456", ""},
		{"responseElements as a JSON string",
			ecsEnvelope(events.TypeAPICall, `{"eventName":"RunInstances","responseElements":"{\"InstanceIdSets\":{\"InstanceIdSet\":[\"i-bp1aaaaaaaaaaaaaaaa1\"]}}"}`),
			[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", ""},
		{"InstanceIdSet as one string",
			ecsEnvelope(events.TypeAPICall, `{"eventName":"RunInstances","responseElements":{"InstanceIdSets":{"InstanceIdSet":"i-bp1aaaaaaaaaaaaaaaa1"}}}`),
			[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", ""},
		{"duplicate IDs collapse in order",
			ecsEnvelope(events.TypeAPICall, `{"eventName":"RunInstances","responseElements":{"InstanceIdSets":{"InstanceIdSet":["i-bp1bbbbbbbbbbbbbbbb2","i-bp1aaaaaaaaaaaaaaaa1","i-bp1bbbbbbbbbbbbbbbb2"]}}}`),
			[]string{"i-bp1bbbbbbbbbbbbbbbb2", "i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", ""},
		{"service event from Auto Scaling",
			ecsEnvelope(events.TypeServiceEvent, `{"eventName":"RunInstances","eventType":"AliyunServiceEvent","responseElements":{"InstanceIdSets":{"InstanceIdSet":["i-bp1aaaaaaaaaaaaaaaa1"]}}}`),
			[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", ""},
		{"DryRun false is a real call",
			ecsEnvelope(events.TypeAPICall, `{"eventName":"CreateInstance","requestParameters":{"DryRun":"false"},"responseElements":{"InstanceId":"i-bp1aaaaaaaaaaaaaaaa1"}}`),
			[]string{"i-bp1aaaaaaaaaaaaaaaa1"}, "cn-hangzhou", "1234567890123456", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := events.ParseInstanceEvent(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.ids, got.InstanceIDs); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			if got.RegionID != tc.region || got.AccountID != tc.account || got.State != tc.state {
				t.Errorf("region, account, state = %q, %q, %q; want %q, %q, %q",
					got.RegionID, got.AccountID, got.State, tc.region, tc.account, tc.state)
			}
		})
	}
}

func TestParseInstanceEvent_Unrelated(t *testing.T) {
	cases := []struct {
		name   string
		env    events.Envelope
		reason string
	}{
		{"wrong source", MustEnvelope(t, "wrong-source.json"), `source "acs.oss" is not acs.ecs`},
		{"stopped", MustEnvelope(t, "statechange-stopped.json"), `state "Stopped" does not announce a new instance`},
		{"other API", MustEnvelope(t, "actiontrail-other-api.json"), `API call "StopInstance" creates no instance`},
		{"mns message", MustEnvelope(t, "mns-single.json"), `source "MNS-sg-worker-mns-trigger" is not acs.ecs`},
		{"other ECS type", ecsEnvelope("ecs:Disk:CreateDiskCompleted", `{}`), "does not announce new instances"},
		{"console operation", ecsEnvelope("ecs:ActionTrail:ConsoleOperation", `{"eventName":"ConsoleSignin"}`), "does not announce new instances"},
		{"starting", ecsEnvelope(events.TypeStateChange, `{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","state":"Starting"}`), `state "Starting"`},
		{"deleted", ecsEnvelope(events.TypeStateChange, `{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","state":"Deleted"}`), `state "Deleted"`},
		{"not an instance", ecsEnvelope(events.TypeStateChange, `{"resourceId":"d-bp1aaaa","resourceType":"ALIYUN::ECS::Disk","state":"Created"}`), "is not an ECS instance"},
		{"failed call", ecsEnvelope(events.TypeAPICall, `{"eventName":"RunInstances","errorCode":"QuotaExceed.ElasticQuota","errorMessage":"no quota"}`), "failed with QuotaExceed.ElasticQuota"},
		{"dry run", ecsEnvelope(events.TypeAPICall, `{"eventName":"RunInstances","requestParameters":{"DryRun":true}}`), "was a DryRun"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := events.ParseInstanceEvent(tc.env)
			if !errors.Is(err, events.ErrUnrelated) {
				t.Fatalf("err = %v, want ErrUnrelated", err)
			}
			reason, ok := events.UnrelatedReason(err)
			if !ok || !strings.Contains(reason, tc.reason) {
				t.Errorf("reason = %q, want it to contain %q", reason, tc.reason)
			}
		})
	}
}

func TestParseInstanceEvent_Malformed(t *testing.T) {
	cases := []struct {
		name string
		env  events.Envelope
		want string
	}{
		{"request parameters only", MustEnvelope(t, "actiontrail-request-only.json"), "no instance IDs"},
		{"no data", ecsEnvelope(events.TypeStateChange, ``), "has no data"},
		{"data not an object", ecsEnvelope(events.TypeStateChange, `[1]`), "not a JSON object"},
		{"no state", ecsEnvelope(events.TypeStateChange, `{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1"}`), "has no state"},
		{"no resource", ecsEnvelope(events.TypeStateChange, `{"state":"Created"}`), "no instance IDs"},
		{"bad ARN", ecsEnvelope(events.TypeStateChange, `{"resourceId":"acs:ecs:cn-hangzhou:1:disk/d-1","state":"Created"}`), "is not acs:ecs"},
		{"ARN without ID", ecsEnvelope(events.TypeStateChange, `{"resourceId":"acs:ecs:cn-hangzhou:1:instance/","state":"Created"}`), "names no instance"},
		{"path in bare ID", ecsEnvelope(events.TypeStateChange, `{"resourceId":"instance/i-1","state":"Created"}`), "neither an instance ID"},
		{"two instances", ecsEnvelope(events.TypeStateChange, `{"resourceId":"acs:ecs:cn-hangzhou:1:instance/i-bp1aaaaaaaaaaaaaaaa1","content":{"resourceId":"i-bp1bbbbbbbbbbbbbbbb2","state":"Created"}}`), "two instances"},
		{"region mismatch", ecsEnvelope(events.TypeStateChange, `{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","regionId":"cn-beijing","state":"Created"}`), "two regions"},
		{"no region", events.Envelope{ID: "x", Source: "acs.ecs", Type: events.TypeStateChange, Data: []byte(`{"resourceId":"i-bp1aaaaaaaaaaaaaaaa1","state":"Created"}`)}, "no region"},
		{"empty responseElements", ecsEnvelope(events.TypeAPICall, `{"eventName":"RunInstances","responseElements":{"RequestId":"r"}}`), "no instance IDs"},
		{"null responseElements", ecsEnvelope(events.TypeAPICall, `{"eventName":"RunInstances","responseElements":null}`), "no instance IDs"},
		{"InstanceIdSet of numbers", ecsEnvelope(events.TypeAPICall, `{"eventName":"RunInstances","responseElements":{"InstanceIdSets":{"InstanceIdSet":[1,2]}}}`), "array of strings"},
		{"wrong field type", ecsEnvelope(events.TypeStateChange, `{"resourceId":5,"state":"Created"}`), "data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := events.ParseInstanceEvent(tc.env)
			wantInvalid(t, err)
			if errors.Is(err, events.ErrUnrelated) {
				t.Fatalf("malformed event reported as unrelated: %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

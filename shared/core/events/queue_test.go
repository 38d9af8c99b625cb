package events_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
)

func TestDecodeQueueMessages_Fixtures(t *testing.T) {
	cases := []struct {
		file      string
		ids       []string
		instances []string
	}{
		{"mns-single.json", []string{"A1B2C3D4E5F60718293A4B5C6D7E8F90"}, []string{"i-bp1aaaaaaaaaaaaaaaa1"}},
		{"mns-batch.json", []string{"B1B2C3D4E5F60718293A4B5C6D7E8F91", "C1B2C3D4E5F60718293A4B5C6D7E8F92"},
			[]string{"i-bp1aaaaaaaaaaaaaaaa1", "i-bp1aaaaaaaaaaaaaaaa2"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			msgs, err := events.DecodeQueueMessages(MustRead(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var ids, instances []string
			for _, m := range msgs {
				ids = append(ids, m.MessageID)
				if m.EventID == "" || m.RequestID == "" {
					t.Errorf("message without event or request ID: %+v", m)
				}
				// Bodies are task JSON the worker can decode as is.
				task, err := domain.DecodeTask(m.TaskBody())
				if err != nil {
					t.Fatalf("body is not a task: %v", err)
				}
				instances = append(instances, task.InstanceID)
			}
			if diff := cmp.Diff(tc.ids, ids); diff != "" {
				t.Errorf("message IDs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.instances, instances); diff != "" {
				t.Errorf("task instances (-want +got):\n%s", diff)
			}
			b, err := json.Marshal(msgs)
			if err != nil {
				t.Fatal(err)
			}
			var back []events.QueueMessage
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(msgs, back); diff != "" {
				t.Errorf("JSON round trip (-before +after):\n%s", diff)
			}
		})
	}
}

func mnsEnvelope(data string) string {
	return `{"id":"e1","source":"MNS-f-t","type":"mns:Queue:SendMessage","data":` + data + `}`
}

func TestDecodeQueueMessages_Bodies(t *testing.T) {
	task := `{"v":1,"kind":"onboard"}`
	cases := []struct {
		name, data, body, taskBody string
	}{
		{"string body", `{"messageId":"m1","messageBody":"hello"}`, "hello", "hello"},
		{"object body kept as text", `{"messageId":"m1","messageBody":{"v":1,"kind":"onboard"}}`, task, task},
		{"base64 body (IsBase64Decode off)", `{"messageId":"m1","messageBody":"` + base64.StdEncoding.EncodeToString([]byte(task)) + `"}`,
			base64.StdEncoding.EncodeToString([]byte(task)), task},
		{"empty string body", `{"messageId":"m1","messageBody":""}`, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := events.DecodeQueueMessages([]byte(mnsEnvelope(tc.data)))
			if err != nil {
				t.Fatal(err)
			}
			if msgs[0].Body != tc.body || msgs[0].TaskBody() != tc.taskBody {
				t.Errorf("Body, TaskBody = %q, %q; want %q, %q", msgs[0].Body, msgs[0].TaskBody(), tc.body, tc.taskBody)
			}
		})
	}
}

func TestDecodeQueueMessages_Invalid(t *testing.T) {
	cases := []struct {
		name, raw, want string
	}{
		{"malformed", string(MustRead(t, "malformed.json")), "malformed JSON"},
		{"no data", `{"id":"e1","source":"MNS-f-t","type":"mns:Queue:SendMessage"}`, "has no data"},
		{"no message ID", mnsEnvelope(`{"messageBody":"x"}`), "no messageId"},
		{"no body", mnsEnvelope(`{"messageId":"m1"}`), "no messageBody"},
		{"wrong type in a batch", "[" + mnsEnvelope(`{"messageId":"m1","messageBody":"x"}`) + "," + string(MustRead(t, "statechange-flat.json")) + "]", "event 2 of 2"},
		{"oversized", mnsEnvelope(`{"messageId":"m1","messageBody":"` + strings.Repeat("x", events.MaxQueueEventBytes) + `"}`), "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := events.DecodeQueueMessages([]byte(tc.raw))
			wantInvalid(t, err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestDecodeTimerEvent(t *testing.T) {
	ev, err := events.DecodeTimerEvent(MustRead(t, "timer.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := events.TimerEvent{TriggerTime: "2024-05-01T08:00:00Z", TriggerName: "reconcile-hourly", Payload: `{"mode":"reconcile"}`}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if tm, ok := ev.Time(); !ok || tm.Hour() != 8 {
		t.Errorf("Time() = %v, %v", tm, ok)
	}
	b, _ := json.Marshal(ev)
	back, err := events.DecodeTimerEvent(b)
	if err != nil || back != ev {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	var p struct {
		Mode string `json:"mode"`
	}
	if err := events.DecodePayload([]byte(ev.Payload), &p); err != nil || p.Mode != "reconcile" {
		t.Errorf("payload: %+v, %v", p, err)
	}

	for _, raw := range []string{``, `[]`, `{}`, `{"triggerName":`, `{"payload":"x"}`, `{"triggerName":"t"} x`} {
		_, err := events.DecodeTimerEvent([]byte(raw))
		wantInvalid(t, err)
	}
}

func TestDecodePayload_Strict(t *testing.T) {
	type payload struct {
		Mode   string `json:"mode"`
		DryRun bool   `json:"dryRun"`
	}
	cases := []struct {
		name, raw, want string
	}{
		{"typo in a member name", `{"mode":"reconcile","dryRum":true}`, `unknown field "dryRum"`},
		{"wrong type", `{"dryRun":"yes"}`, "cannot unmarshal"},
		{"empty", "  ", "empty"},
		{"trailing data", `{"mode":"a"}{"mode":"b"}`, "trailing data"},
		{"oversized", `{"mode":"` + strings.Repeat("a", events.MaxPayloadBytes) + `"}`, "larger than"},
		{"not JSON", `mode=reconcile`, "invalid character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p payload
			err := events.DecodePayload([]byte(tc.raw), &p)
			wantInvalid(t, err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	var p payload
	if err := events.DecodePayload([]byte(` {"mode":"reconcile","dryRun":true} `), &p); err != nil || !p.DryRun {
		t.Errorf("good payload: %+v, %v", p, err)
	}
}

// A trigger delivery is decoded message by message: each malformed element
// fails alone, with its index, and keeps the IDs that could be read.
func TestDecodeQueueItems_PerMessage(t *testing.T) {
	good := func(id string) string {
		return `{"id":"ev-` + id + `","source":"MNS-q","type":"mns:Queue:SendMessage","data":{"requestId":"R","messageId":"` + id + `","messageBody":"{\"v\":1}"}}`
	}
	tests := []struct {
		name      string
		elem      string
		wantErr   string // "" for a good message
		messageID string
	}{
		{"good", good("M1"), "", "M1"},
		{"null body", `{"id":"ev-2","source":"MNS-q","type":"mns:Queue:SendMessage","data":{"messageId":"M2","messageBody":null}}`, "no messageBody", "M2"},
		{"no body", `{"id":"ev-3","source":"MNS-q","type":"mns:Queue:SendMessage","data":{"messageId":"M3"}}`, "no messageBody", "M3"},
		{"null data", `{"id":"ev-4","source":"MNS-q","type":"mns:Queue:SendMessage","data":null}`, "no data", ""},
		{"not a CloudEvent", `{"hello":1}`, "not a CloudEvent", ""},
		{"scalar", `42`, "not a JSON object", ""},
		{"other type", `{"id":"ev-5","source":"acs.ecs","type":"ecs:Instance:StateChange","data":{"messageId":"M5"}}`, "is not mns:Queue:SendMessage", "M5"},
		{"no messageId", `{"id":"ev-6","source":"MNS-q","type":"mns:Queue:SendMessage","data":{"messageBody":"x"}}`, "no messageId", ""},
	}
	elems := make([]string, len(tests))
	for i, tc := range tests {
		elems[i] = tc.elem
	}
	items, err := events.DecodeQueueItems([]byte("[" + strings.Join(elems, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(tests) {
		t.Fatalf("%d items for %d elements", len(items), len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := items[i]
			switch {
			case tc.wantErr == "" && it.Err != nil:
				t.Fatalf("unexpected error %v", it.Err)
			case tc.wantErr != "" && (it.Err == nil || !strings.Contains(it.Err.Error(), tc.wantErr) || domain.KindOf(it.Err) != domain.KindInvalid):
				t.Fatalf("error %v, want KindInvalid containing %q", it.Err, tc.wantErr)
			}
			if it.Message.MessageID != tc.messageID || it.Raw == "" {
				t.Errorf("message ID %q (raw %q), want %q", it.Message.MessageID, it.Raw, tc.messageID)
			}
		})
	}

	// Only a delivery that is not JSON at all fails as a whole.
	for _, raw := range []string{"", "[]", "nope", "[" + good("M1")} {
		if _, err := events.DecodeQueueItems([]byte(raw)); err == nil {
			t.Errorf("DecodeQueueItems(%q) succeeded", raw)
		}
	}
}

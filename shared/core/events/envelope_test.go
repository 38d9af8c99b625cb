package events_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/events"
)

var envelopeFixtures = []struct {
	file  string
	count int
	types []string
}{
	{"statechange-flat.json", 1, []string{events.TypeStateChange}},
	{"statechange-nested.json", 1, []string{events.TypeStateChange}},
	{"statechange-stopped.json", 1, []string{events.TypeStateChange}},
	{"actiontrail-runinstances.json", 1, []string{events.TypeAPICall}},
	{"actiontrail-createinstance.json", 1, []string{events.TypeAPICall}},
	{"actiontrail-request-only.json", 1, []string{events.TypeAPICall}},
	{"actiontrail-other-api.json", 1, []string{events.TypeAPICall}},
	{"wrong-source.json", 1, []string{"oss:ObjectCreated:PutObject"}},
	{"batch.json", 3, []string{events.TypeStateChange, events.TypeAPICall, events.TypeStateChange}},
	{"mns-single.json", 1, []string{events.TypeMNSSendMessage}},
	{"mns-batch.json", 2, []string{events.TypeMNSSendMessage, events.TypeMNSSendMessage}},
}

func TestDecodeEnvelopes_Fixtures(t *testing.T) {
	for _, tc := range envelopeFixtures {
		t.Run(tc.file, func(t *testing.T) {
			envs, err := events.DecodeEnvelopes(MustRead(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range envs {
				types = append(types, e.Type)
				if e.ID == "" || e.Source == "" {
					t.Errorf("envelope without id/source: %+v", e)
				}
			}
			if diff := cmp.Diff(tc.types, types); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeEnvelopes_RoundTrip(t *testing.T) {
	for _, tc := range envelopeFixtures {
		t.Run(tc.file, func(t *testing.T) {
			first, err := events.DecodeEnvelopes(MustRead(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			encoded, err := json.Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			second, err := events.DecodeEnvelopes(encoded)
			if err != nil {
				t.Fatalf("re-decode: %v\n%s", err, encoded)
			}
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("round trip changed the envelopes (-first +second):\n%s", diff)
			}
			// The data member survives as the same JSON value.
			var orig []map[string]any
			raw := bytes.TrimSpace(MustRead(t, tc.file))
			if raw[0] == '{' {
				raw = append(append([]byte("["), raw...), ']')
			}
			if err := json.Unmarshal(raw, &orig); err != nil {
				t.Fatal(err)
			}
			for i, env := range second {
				var got any
				if err := json.Unmarshal(env.Data, &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(orig[i]["data"], got); diff != "" {
					t.Errorf("event %d data (-fixture +decoded):\n%s", i, diff)
				}
			}
		})
	}
}

func TestDecodeEnvelopes_Invalid(t *testing.T) {
	huge := `{"id":"x","source":"acs.ecs","type":"t","data":{"pad":"` + strings.Repeat("a", events.MaxEventBytes) + `"}}`
	cases := []struct {
		name string
		raw  string
		want string // substring of the error
	}{
		{"malformed fixture", string(MustRead(t, "malformed.json")), "malformed JSON object"},
		{"oversized", huge, "larger than the"},
		{"empty", "", "empty"},
		{"only whitespace", " \n\t ", "empty"},
		{"scalar", `"hello"`, "want a JSON object or array"},
		{"number", `42`, "want a JSON object or array"},
		{"empty array", `[]`, "array is empty"},
		{"trailing data", `{"id":"a","source":"s","type":"t"} {"id":"b"}`, "trailing data"},
		{"trailing bracket", `{"id":"a","source":"s","type":"t"}]`, "trailing data"},
		{"array of scalars", `[1, 2]`, "event 1 of 2"},
		{"missing id", `{"source":"acs.ecs","type":"ecs:Instance:StateChange"}`, "missing [id]"},
		{"missing source and type", `{"id":"x"}`, "missing [source type]"},
		{"wrong member type", `{"id":7,"source":"acs.ecs","type":"t"}`, "malformed CloudEvents envelope"},
		{"bad element in batch", `[{"id":"a","source":"s","type":"t"},{"id":"b"}]`, "event 2 of 2"},
		{"unterminated array", `[{"id":"a","source":"s","type":"t"}`, "malformed JSON array"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			envs, err := events.DecodeEnvelopes([]byte(tc.raw))
			wantInvalid(t, err)
			if envs != nil {
				t.Errorf("envelopes = %v, want nil", envs)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestSplitBatch_KeepsElementsForPerItemDecoding(t *testing.T) {
	raw := `[{"id":"a","source":"acs.ecs","type":"t"}, 17, {"id":"b","source":"acs.ecs","type":"t"}]`
	items, err := events.SplitBatch([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	var ok []string
	var bad int
	for _, item := range items {
		env, err := events.DecodeEnvelope(item)
		if err != nil {
			wantInvalid(t, err)
			bad++
			continue
		}
		ok = append(ok, env.ID)
	}
	if diff := cmp.Diff([]string{"a", "b"}, ok); diff != "" || bad != 1 {
		t.Errorf("good (-want +got):\n%s; bad = %d, want 1", diff, bad)
	}
}

func TestEnvelope_EventTime(t *testing.T) {
	cases := []struct {
		name      string
		time, pub string
		want      time.Time
	}{
		{"offset form", "2024-05-01T16:00:03+08:00", "", time.Date(2024, 5, 1, 8, 0, 3, 0, time.UTC)},
		{"zulu with millis", "2024-05-01T08:05:00.101Z", "", time.Date(2024, 5, 1, 8, 5, 0, 101e6, time.UTC)},
		{"falls back to publish time", "yesterday", "2024-05-01T08:00:04.120Z", time.Date(2024, 5, 1, 8, 0, 4, 120e6, time.UTC)},
		{"nothing readable", "soon", "", time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := events.Envelope{Time: tc.time, PublishTime: tc.pub}.EventTime()
			if !got.Equal(tc.want) {
				t.Errorf("EventTime = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		raw  string
		want events.Format
	}{
		{"state change", string(MustRead(t, "statechange-flat.json")), events.FormatCloudEvents},
		{"batch", string(MustRead(t, "batch.json")), events.FormatCloudEvents},
		{"mns batch", string(MustRead(t, "mns-batch.json")), events.FormatCloudEvents},
		{"timer", string(MustRead(t, "timer.json")), events.FormatTimer},
		{"manual ids", `{"instanceIds":["i-bp1aaaaaaaaaaaaaaaa1"],"region":"cn-hangzhou"}`, events.FormatPayload},
		{"reconcile", `{"mode":"reconcile"}`, events.FormatPayload},
		{"specversion only", `{"specversion":"1.0"}`, events.FormatCloudEvents},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := events.Detect([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Detect = %v, want %v", got, tc.want)
			}
		})
	}
	for _, raw := range []string{"", "nope", `{"a":`, "[1,2"} {
		_, err := events.Detect([]byte(raw))
		wantInvalid(t, err)
	}
}

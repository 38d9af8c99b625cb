package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// MaxEventBytes bounds one EventBridge delivery (a single envelope or a
// batch). FC accepts at most 128 KB for an asynchronous invocation and an ECS
// event is a few KB, so twice the async limit leaves room for synchronous test
// invocations while refusing anything absurd before it is parsed.
const MaxEventBytes = 256 * 1024

// Envelope is one Alibaba Cloud CloudEvents envelope as EventBridge delivers
// it. Times are kept as the strings that came on the wire (both the "+08:00"
// and the "Z" forms occur), so that an envelope re-encodes to what was
// received; Data is kept raw (compacted) for the type-specific parsers.
// Unknown top-level members (CloudEvents extensions) are ignored.
type Envelope struct {
	ID                string          `json:"id"`
	Source            string          `json:"source"`
	SpecVersion       string          `json:"specversion,omitempty"`
	Type              string          `json:"type"`
	Subject           string          `json:"subject,omitempty"`
	Time              string          `json:"time,omitempty"`
	DataContentType   string          `json:"datacontenttype,omitempty"`
	AccountID         string          `json:"aliyunaccountid,omitempty"`
	OriginalAccountID string          `json:"aliyunoriginalaccountid,omitempty"`
	RegionID          string          `json:"aliyunregionid,omitempty"`
	PublishTime       string          `json:"aliyunpublishtime,omitempty"`
	EventBusName      string          `json:"aliyuneventbusname,omitempty"`
	PublishAddr       string          `json:"aliyunpublishaddr,omitempty"`
	Data              json.RawMessage `json:"data,omitempty"`
}

// EventTime returns the envelope's time, falling back to the publish time;
// the zero time when neither parses (time is informational only).
func (e Envelope) EventTime() time.Time {
	for _, s := range []string{e.Time, e.PublishTime} {
		if t, ok := parseTime(s); ok {
			return t
		}
	}
	return time.Time{}
}

// timeLayouts are the time formats seen in Alibaba events: RFC 3339 with or
// without fractions (CloudEvents, ActionTrail) and the compact CloudMonitor
// form "20240501T160003.123+0800".
var timeLayouts = []string{time.RFC3339Nano, "20060102T150405.000-0700", "20060102T150405-0700"}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func invalid(op, format string, args ...any) error {
	return domain.Errorf(domain.KindInvalid, op, "", format, args...)
}

// SplitBatch checks raw's size and shape and returns its elements: the one
// object, or every element of a JSON array. It does not look inside the
// elements, so a caller can decode them one by one and keep the good ones of
// a mixed batch. An empty array, a scalar or trailing data is KindInvalid.
func SplitBatch(raw []byte) ([]json.RawMessage, error) {
	return splitBatch(raw, MaxEventBytes, "decode event")
}

func splitBatch(raw []byte, limit int, op string) ([]json.RawMessage, error) {
	if len(raw) > limit {
		return nil, invalid(op, "input is %d bytes, larger than the %d-byte limit", len(raw), limit)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, invalid(op, "input is empty, want a JSON object or array")
	}
	switch trimmed[0] {
	case '{':
		if err := decodeOne(trimmed, new(json.RawMessage)); err != nil {
			return nil, invalid(op, "malformed JSON object: %v", err)
		}
		return []json.RawMessage{json.RawMessage(trimmed)}, nil
	case '[':
		var items []json.RawMessage
		if err := decodeOne(trimmed, &items); err != nil {
			return nil, invalid(op, "malformed JSON array: %v", err)
		}
		if len(items) == 0 {
			return nil, invalid(op, "the event array is empty")
		}
		return items, nil
	default:
		return nil, invalid(op, "input starts with %q, want a JSON object or array", clip(string(trimmed), 16))
	}
}

// decodeOne decodes exactly one JSON value into v, refusing trailing data.
func decodeOne(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimSpace(raw[dec.InputOffset():]); len(rest) > 0 {
		return fmt.Errorf("trailing data after the JSON value: %q", clip(string(rest), 16))
	}
	return nil
}

// DecodeEnvelope decodes one element of a batch. It requires a JSON object
// with the CloudEvents attributes id, source and type; anything else is
// KindInvalid.
func DecodeEnvelope(raw json.RawMessage) (Envelope, error) {
	const op = "decode event"
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Envelope{}, invalid(op, "event is not a JSON object (starts with %q)", clip(string(trimmed), 16))
	}
	var env Envelope
	if err := decodeOne(trimmed, &env); err != nil {
		return Envelope{}, invalid(op, "malformed CloudEvents envelope: %v", err)
	}
	var missing []string
	if env.ID == "" {
		missing = append(missing, "id")
	}
	if env.Source == "" {
		missing = append(missing, "source")
	}
	if env.Type == "" {
		missing = append(missing, "type")
	}
	if len(missing) > 0 {
		return Envelope{}, invalid(op, "event %q is not a CloudEvent: missing %v", env.ID, missing)
	}
	if len(env.Data) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, env.Data); err == nil {
			env.Data = buf.Bytes()
		}
		if bytes.Equal(env.Data, []byte("null")) {
			env.Data = nil
		}
	}
	return env, nil
}

// DecodeEnvelopes decodes one envelope or a JSON array of them (the first
// non-space byte decides). Any malformed element fails the whole call, with
// its index in the message; callers that want to keep the good elements of a
// mixed batch use SplitBatch and DecodeEnvelope.
func DecodeEnvelopes(raw []byte) ([]Envelope, error) {
	items, err := SplitBatch(raw)
	if err != nil {
		return nil, err
	}
	return decodeAll(items)
}

func decodeAll(items []json.RawMessage) ([]Envelope, error) {
	out := make([]Envelope, 0, len(items))
	for i, item := range items {
		env, err := DecodeEnvelope(item)
		if err != nil {
			if len(items) > 1 {
				return nil, fmt.Errorf("event %d of %d: %w", i+1, len(items), err)
			}
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

// clip shortens s for error messages.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

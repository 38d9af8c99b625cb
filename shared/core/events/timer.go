package events

import (
	"bytes"
	"encoding/json"
	"time"
)

// MaxPayloadBytes bounds an operator payload (`s invoke`) or a timer event.
// Payloads are a few hundred bytes; FC's own async limit is 128 KB.
const MaxPayloadBytes = 64 * 1024

// TimerEvent is the FC timer trigger's event. Payload is the trigger's
// configured text, a string even when it holds JSON: decode it with
// DecodePayload.
type TimerEvent struct {
	TriggerTime string `json:"triggerTime"`
	TriggerName string `json:"triggerName"`
	Payload     string `json:"payload"`
}

// Time parses TriggerTime; ok is false when it is absent or unreadable.
func (e TimerEvent) Time() (time.Time, bool) { return parseTime(e.TriggerTime) }

// DecodeTimerEvent decodes a timer event. It needs triggerName or
// triggerTime; unknown members are ignored (the platform may add some).
func DecodeTimerEvent(raw []byte) (TimerEvent, error) {
	const op = "decode timer event"
	if len(raw) > MaxPayloadBytes {
		return TimerEvent{}, invalid(op, "input is %d bytes, larger than the %d-byte limit", len(raw), MaxPayloadBytes)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return TimerEvent{}, invalid(op, "timer event is not a JSON object")
	}
	var e TimerEvent
	if err := decodeOne(trimmed, &e); err != nil {
		return TimerEvent{}, invalid(op, "malformed timer event: %v", err)
	}
	if e.TriggerName == "" && e.TriggerTime == "" {
		return TimerEvent{}, invalid(op, "not a timer event: no triggerName or triggerTime")
	}
	return e, nil
}

// DecodePayload decodes an operator or timer payload into v strictly: one
// JSON value of at most MaxPayloadBytes, no unknown members, no trailing
// data. A typo in an `s invoke` payload is then an error instead of a
// silently ignored option. (Member names still match case-insensitively, as
// everywhere in encoding/json: "dryrun" means dryRun.) Errors are KindInvalid.
func DecodePayload(raw []byte, v any) error {
	const op = "decode payload"
	if len(raw) > MaxPayloadBytes {
		return invalid(op, "payload is %d bytes, larger than the %d-byte limit", len(raw), MaxPayloadBytes)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return invalid(op, "payload is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid(op, "payload %s: %v", clip(string(trimmed), 60), err)
	}
	if rest := bytes.TrimSpace(trimmed[dec.InputOffset():]); len(rest) > 0 {
		return invalid(op, "trailing data after the payload: %q", clip(string(rest), 16))
	}
	return nil
}

// Format is what an invocation payload looks like.
type Format int

const (
	// FormatCloudEvents: one CloudEvents envelope or an array of them
	// (EventBridge, MNS trigger).
	FormatCloudEvents Format = iota + 1
	// FormatTimer: the FC timer event.
	FormatTimer
	// FormatPayload: any other JSON object, e.g. an `s invoke` payload.
	FormatPayload
)

func (f Format) String() string {
	switch f {
	case FormatCloudEvents:
		return "cloudevents"
	case FormatTimer:
		return "timer"
	case FormatPayload:
		return "payload"
	}
	return "unknown"
}

// Detect tells which decoder an invocation payload needs, by its shape: an
// array is a batch of CloudEvents; an object with specversion, or with id,
// source and type, is one CloudEvent; an object with triggerName or
// triggerTime is a timer event; any other object is an operator payload.
// Input that is not a JSON object or array, or too large, is KindInvalid.
func Detect(raw []byte) (Format, error) {
	items, err := SplitBatch(raw)
	if err != nil {
		return 0, err
	}
	trimmed := bytes.TrimSpace(raw)
	if trimmed[0] == '[' {
		return FormatCloudEvents, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(items[0], &keys); err != nil {
		return 0, invalid("decode event", "malformed JSON object: %v", err)
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("specversion") || (has("id") && has("source") && has("type")):
		return FormatCloudEvents, nil
	case has("triggerName") || has("triggerTime"):
		return FormatTimer, nil
	}
	return FormatPayload, nil
}

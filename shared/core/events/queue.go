package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// MaxQueueEventBytes bounds one MNS trigger delivery. A batch holds at most
// 16 messages of at most 64 KiB each (more once base64-encoded), so the
// limit is well above MaxEventBytes; one oversized body is then refused by
// the task decoder for that message alone, not for the whole batch.
const MaxQueueEventBytes = 2 * 1024 * 1024

// QueueMessage is one MNS message as the FC queue trigger delivers it.
type QueueMessage struct {
	EventID   string `json:"eventId"`
	MessageID string `json:"messageId"`
	RequestID string `json:"requestId,omitempty"`
	// Body is data.messageBody exactly as delivered: the task JSON when the
	// trigger's IsBase64Decode is off and the producer sent plain text (as
	// sgpilot's queue adapter does). See TaskBody for base64 bodies.
	Body string `json:"body"`
}

// queueData is data of an mns:Queue:SendMessage event.
type queueData struct {
	RequestID   string          `json:"requestId"`
	MessageID   string          `json:"messageId"`
	MessageBody json.RawMessage `json:"messageBody"`
}

// ParseQueueMessage reads one MNS trigger envelope. An envelope of another
// type is an *UnrelatedError; missing data, messageId or messageBody is
// KindInvalid.
func ParseQueueMessage(env Envelope) (QueueMessage, error) {
	op := "parse queue event " + env.ID
	if env.Type != TypeMNSSendMessage {
		return QueueMessage{}, unrelated(env, "type "+strconv.Quote(env.Type)+" is not "+TypeMNSSendMessage)
	}
	if len(env.Data) == 0 {
		return QueueMessage{}, invalid(op, "queue event has no data")
	}
	var d queueData
	if err := decodeObject(env.Data, &d); err != nil {
		return QueueMessage{}, invalid(op, "queue event data: %v", err)
	}
	if d.MessageID == "" {
		return QueueMessage{}, invalid(op, "queue event has no messageId")
	}
	body := bytes.TrimSpace(d.MessageBody)
	var text string
	switch {
	case len(body) == 0 || bytes.Equal(body, []byte("null")):
		return QueueMessage{}, invalid(op, "message %s has no messageBody", d.MessageID)
	case body[0] == '"':
		if err := json.Unmarshal(body, &text); err != nil {
			return QueueMessage{}, invalid(op, "message %s body: %v", d.MessageID, err)
		}
	default:
		// Some event schemas deliver a JSON body already parsed; keep its
		// text so the task decoder sees what was sent.
		text = string(body)
	}
	return QueueMessage{EventID: env.ID, MessageID: d.MessageID, RequestID: d.RequestID, Body: text}, nil
}

// DecodeQueueMessages decodes an MNS trigger delivery (one envelope or an
// array). Any malformed or foreign element fails the call naming its index;
// a worker that wants per-message outcomes uses DecodeQueueItems.
func DecodeQueueMessages(raw []byte) ([]QueueMessage, error) {
	items, err := SplitQueueBatch(raw)
	if err != nil {
		return nil, err
	}
	envs, err := decodeAll(items)
	if err != nil {
		return nil, err
	}
	out := make([]QueueMessage, 0, len(envs))
	for i, env := range envs {
		m, err := ParseQueueMessage(env)
		if err != nil {
			if _, ok := UnrelatedReason(err); ok {
				err = invalid("decode queue event", "%v", err)
			}
			if len(envs) > 1 {
				return nil, fmt.Errorf("event %d of %d: %w", i+1, len(envs), err)
			}
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// QueueItem is one element of an MNS trigger delivery: its message, or why
// it is not one. Raw is the element as delivered (compacted when it was a
// JSON object), so a malformed message can be dead-lettered as it came.
type QueueItem struct {
	Message QueueMessage
	Raw     string
	// Err is KindInvalid when the element is not a usable queue message
	// (not a CloudEvent, another type, no messageId, a null body). Message
	// then holds the IDs that could be read, if any.
	Err error
}

// DecodeQueueItems decodes an MNS trigger delivery message by message: a
// malformed element fails only itself. Only a delivery that is not JSON at
// all, is empty or is over MaxQueueEventBytes fails the call.
func DecodeQueueItems(raw []byte) ([]QueueItem, error) {
	elems, err := SplitQueueBatch(raw)
	if err != nil {
		return nil, err
	}
	out := make([]QueueItem, len(elems))
	for i, el := range elems {
		it := &out[i]
		it.Raw = string(bytes.TrimSpace(el))
		env, err := DecodeEnvelope(el)
		if err == nil {
			it.Message, err = ParseQueueMessage(env)
		}
		if err != nil {
			if _, ok := UnrelatedReason(err); ok {
				err = invalid("decode queue event", "%v", err)
			}
			if len(elems) > 1 {
				err = fmt.Errorf("event %d of %d: %w", i+1, len(elems), err)
			}
			it.Err = err
			it.Message = looseIDs(el)
		}
	}
	return out, nil
}

// looseIDs reads what IDs it can from a malformed element, for logs and
// for the dead-letter record's ID.
func looseIDs(el json.RawMessage) QueueMessage {
	var v struct {
		ID   string `json:"id"`
		Data struct {
			MessageID string `json:"messageId"`
			RequestID string `json:"requestId"`
		} `json:"data"`
	}
	_ = json.Unmarshal(el, &v) // best effort: zero IDs otherwise
	return QueueMessage{EventID: v.ID, MessageID: v.Data.MessageID, RequestID: v.Data.RequestID}
}

// SplitQueueBatch is SplitBatch with the MNS batch size limit.
func SplitQueueBatch(raw []byte) ([]json.RawMessage, error) {
	return splitBatch(raw, MaxQueueEventBytes, "decode queue event")
}

// TaskBody returns the message body as task JSON: the body itself when it
// is a JSON object, or its base64 decoding when the body is base64 text of a
// JSON object (a producer that encoded the body and a trigger with
// IsBase64Decode off). Anything else is returned unchanged, for the task
// decoder to refuse with a proper message.
func (m QueueMessage) TaskBody() string {
	trimmed := strings.TrimSpace(m.Body)
	if strings.HasPrefix(trimmed, "{") {
		return m.Body
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(trimmed); err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			return string(b)
		}
	}
	return m.Body
}

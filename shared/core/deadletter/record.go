// Package deadletter is the wire format of sgpilot's dead letters: the
// record the queue-worker sends to its dead-letter queue for a task it gave
// up on, and the reading of everything else that lands in a dead-letter
// queue (the event stream's and FC's records in sgpilot-failed-events), so
// that the dead-letter tooling and the tests read all of them alike.
//
// # Always deliverable
//
// A record holds a bounded prefix of the original body, with the body's
// length and SHA-256, so it fits in one MNS message (64 KiB) by
// construction, whatever the body holds: each string field is cut by what
// it costs once JSON-escaped (a control character costs 6 bytes, a quote
// 2), not by its length. Characters XML cannot carry (MNS's wire format is
// XML) are replaced by U+FFFD. Encode checks the result anyway and falls
// back to Shrunk.
//
// # Record IDs
//
// A record's ID is derived from the original message's ID and body (ID): a
// message dead-lettered twice (a push batch the event stream delivered
// again, a drained message whose delete failed after its record was sent,
// a batch send that partly went through before the one-by-one fallback)
// yields records with the same ID, which the tooling counts once.
//
// It imports the standard library, domain and events only.
package deadletter

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Version is the record format this build writes. Version 1 records (no
// ID, no hash, the whole original body) are still read.
const Version = 2

// Size budgets. Each is the most a field may take once JSON-escaped; with
// at most a dozen short fields, keys and a timestamp the record stays far
// below MaxRecordBytes.
const (
	// MaxRecordBytes is MNS's message size limit.
	MaxRecordBytes = 65536
	// BodyBudget bounds the escaped original-body prefix: a whole task
	// (at most 8 KiB, at most twice that escaped) always fits.
	BodyBudget = 32 * 1024
	// DetailBudget bounds the escaped detail.
	DetailBudget = 8 * 1024
	// FieldBudget bounds every other string field.
	FieldBudget = 512
)

// Record is what the queue-worker sends to its dead-letter queue.
type Record struct {
	Version int    `json:"v"`
	ID      string `json:"id,omitempty"`
	Reason  string `json:"reason"`
	Detail  string `json:"detail,omitempty"`
	// TaskID, TaskKind, Subject (instance or group ID) and Region describe
	// the task when the body decoded as one.
	TaskID   string `json:"taskId,omitempty"`
	TaskKind string `json:"taskKind,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Region   string `json:"region,omitempty"`
	// MessageID is the original message's ID on the work queue.
	MessageID    string    `json:"messageId,omitempty"`
	DequeueCount int       `json:"dequeueCount,omitempty"`
	FailedAt     time.Time `json:"failedAt"`
	// OriginalBody is the original body, or a prefix of it when
	// BodyTruncated; BodyBytes and BodySHA256 describe the whole body.
	OriginalBody  string `json:"originalBody,omitempty"`
	BodyBytes     int    `json:"bodyBytes"`
	BodySHA256    string `json:"bodySha256,omitempty"`
	BodyTruncated bool   `json:"bodyTruncated,omitempty"`
	// Minimal says the full record could not be sent and this one carries
	// only the ID, reason, task ID and the body's size and hash.
	Minimal bool `json:"minimal,omitempty"`
}

// Input is what the worker knows about a message it gives up on.
type Input struct {
	MessageID    string
	Body         string
	Reason       string
	Detail       string
	TaskID       string
	TaskKind     string
	Subject      string
	Region       string
	DequeueCount int
	FailedAt     time.Time
}

// ID is the record ID of a message: the same message (ID and body) always
// gets the same record ID. A message without an ID is named by its body.
func ID(messageID, body string) string {
	h := sha256.New()
	h.Write([]byte(messageID))
	h.Write([]byte{0})
	h.Write([]byte(body))
	return "dl-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// SubjectID is the record ID of a refusal about a subject: every task of one
// kind about one subject (an instance, a group) refused for one reason gets
// the same ID. An instance is announced more than once (Created, Running, a
// tag change, a backfill), and each announcement may be refused for the same
// lasting reason; the tooling then shows one letter with its copies, and a
// replay sends one task and removes them all.
func SubjectID(kind, region, subject, reason string) string {
	h := sha256.New()
	for _, part := range []string{"subject", kind, region, subject, reason} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "dl-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// New builds the bounded record of in. Its ID is SubjectID when the task
// was understood (kind, subject and reason known), else ID of the message.
func New(in Input) Record {
	sum := sha256.Sum256([]byte(in.Body))
	body, cut := Clip(in.Body, BodyBudget)
	id := ID(in.MessageID, in.Body)
	if in.TaskKind != "" && in.Subject != "" && in.Reason != "" {
		id = SubjectID(in.TaskKind, in.Region, in.Subject, in.Reason)
	}
	return Record{
		Version:       Version,
		ID:            id,
		Reason:        field(in.Reason),
		Detail:        first(Clip(in.Detail, DetailBudget)),
		TaskID:        field(in.TaskID),
		TaskKind:      field(in.TaskKind),
		Subject:       field(in.Subject),
		Region:        field(in.Region),
		MessageID:     field(in.MessageID),
		DequeueCount:  in.DequeueCount,
		FailedAt:      in.FailedAt.UTC(),
		OriginalBody:  body,
		BodyBytes:     len(in.Body),
		BodySHA256:    hex.EncodeToString(sum[:]),
		BodyTruncated: cut,
	}
}

// Shrunk is the smallest useful form of r (Minimal set): what is left when the full
// record could not be sent.
func (r Record) Shrunk() Record {
	return Record{Version: Version, ID: r.ID, Reason: r.Reason, TaskID: r.TaskID, MessageID: r.MessageID,
		FailedAt: r.FailedAt, BodyBytes: r.BodyBytes, BodySHA256: r.BodySHA256, BodyTruncated: r.BodyBytes > 0,
		Minimal: true}
}

// Encode renders the record as a message body of at most MaxRecordBytes.
// HTML escaping is off: it would only make the record bigger.
func (r Record) Encode() string {
	if r.Version == 0 {
		r.Version = Version
	}
	s, err := marshal(r)
	if err == nil && len(s) <= MaxRecordBytes {
		return s
	}
	// Cannot happen for a record from New (see the budgets); a hand-built
	// record is cut down rather than sent over the limit.
	m := r.Shrunk()
	m.Reason, m.TaskID, m.MessageID, m.ID = field(m.Reason), field(m.TaskID), field(m.MessageID), field(m.ID)
	s, _ = marshal(m)
	return s
}

func marshal(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encode dead-letter record: %w", err)
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

func field(s string) string { return first(Clip(s, FieldBudget)) }

func first(s string, _ bool) string { return s }

// Clip returns the longest prefix of s whose JSON-escaped form (as Encode
// writes it) takes at most budget bytes, with invalid UTF-8 and characters
// XML cannot carry replaced by U+FFFD, and whether the result differs from
// s (cut or replaced).
func Clip(s string, budget int) (string, bool) {
	var out []byte
	changed, cost := false, 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || !xmlChar(r) {
			r, changed = utf8.RuneError, true
		}
		c := escapedLen(r)
		if cost+c > budget {
			return string(out), true
		}
		cost += c
		out = utf8.AppendRune(out, r)
		i += size
	}
	if !changed {
		return s, false
	}
	return string(out), true
}

// escapedLen is what encoding/json (HTML escaping off) writes for r.
func escapedLen(r rune) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
		return 2
	case r < 0x20 || r == '\u2028' || r == '\u2029':
		return 6
	default:
		return utf8.RuneLen(r)
	}
}

// xmlChar reports whether r may appear in XML 1.0 text once JSON has
// escaped the control characters (which it always does).
func xmlChar(r rune) bool {
	return r < 0x20 || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

package deadletter

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/events"
)

// Kind is what produced a message in a dead-letter queue.
type Kind string

const (
	// KindWorker: a Record the queue-worker wrote (sgpilot-dead-letter).
	KindWorker Kind = "worker"
	// KindStreamEvent: the event stream of the work-queue trigger gave up
	// on a push and sent the original CloudEvent, unchanged, one message
	// per event (sgpilot-failed-events).
	KindStreamEvent Kind = "stream-event"
	// KindAsyncFailure: FC's asynchronous-invocation failure destination
	// record (sgpilot-failed-events). Its key names are unconfirmed
	// (alibaba-reference §5.6); they follow what the documentation lists
	// and what localcloud's fcemu writes: requestContext, requestPayload,
	// responseContext, responsePayload.
	KindAsyncFailure Kind = "async-failure"
	// KindUnknown: anything else; shown raw, never replayed.
	KindUnknown Kind = "unknown"
)

// Reasons given to letters that carry none of their own.
const (
	ReasonStreamGaveUp = "stream-retries-exhausted"
	ReasonUnreadable   = "unrecognized-record"
)

// Letter is one dead-letter message read for the tooling, whatever wrote it.
type Letter struct {
	Kind Kind `json:"kind"`
	// ID names the letter for show, replay and purge: the worker record's
	// ID, "ev-<event id>" for a stream event, "fc-<request id>" for an
	// async failure, "msg-<message id>" otherwise. Duplicates (the same
	// letter written twice) share it.
	ID     string `json:"id"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
	// At is when it failed, as the record says (zero when it does not).
	At       time.Time `json:"at,omitzero"`
	TaskID   string    `json:"taskId,omitempty"`
	TaskKind string    `json:"taskKind,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Region   string    `json:"region,omitempty"`
	// InstanceIDs are the instances an async failure's payload named.
	InstanceIDs []string `json:"instanceIds,omitempty"`
	// Function is the function of an async failure.
	Function string `json:"function,omitempty"`
	// Task is the task a replay sends again, when the letter holds a whole,
	// valid one.
	Task *domain.Task `json:"-"`
	// NotReplayable says why there is no Task ("" when there is one).
	NotReplayable string `json:"notReplayable,omitempty"`
	// Record is the worker record itself (KindWorker).
	Record *Record `json:"record,omitempty"`
}

// Read makes sense of one dead-letter message body. It never fails: what it
// cannot read is a KindUnknown letter named by messageID.
func Read(messageID, body string) Letter {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &keys); err == nil {
		switch {
		case keys["reason"] != nil && (keys["originalBody"] != nil || keys["bodySha256"] != nil):
			var r Record
			if err := json.Unmarshal([]byte(body), &r); err == nil {
				return fromRecord(r)
			}
		case keys["specversion"] != nil || keys["type"] != nil && keys["source"] != nil && keys["id"] != nil:
			if env, err := events.DecodeEnvelope(json.RawMessage(body)); err == nil {
				return fromEvent(env)
			}
		case keys["requestContext"] != nil && keys["requestPayload"] != nil:
			var a asyncRecord
			if err := json.Unmarshal([]byte(body), &a); err == nil {
				return fromAsync(messageID, a)
			}
		}
	}
	return Letter{Kind: KindUnknown, ID: "msg-" + messageID, Reason: ReasonUnreadable,
		Detail: first(Clip(body, 256)), NotReplayable: "not a record sgpilot knows"}
}

func fromRecord(r Record) Letter {
	if r.ID == "" { // version 1
		r.ID = ID(r.MessageID, r.OriginalBody)
		if r.BodyBytes == 0 {
			r.BodyBytes = len(r.OriginalBody)
		}
	}
	l := Letter{Kind: KindWorker, ID: r.ID, Reason: r.Reason, Detail: r.Detail, At: r.FailedAt,
		TaskID: r.TaskID, TaskKind: r.TaskKind, Subject: r.Subject, Region: r.Region, Record: &r}
	if l.Reason == "" {
		l.Reason = "unspecified"
	}
	switch {
	case r.Minimal || r.BodyTruncated:
		l.NotReplayable = "the record holds only part of the original body"
	default:
		t, err := domain.DecodeTask(r.OriginalBody)
		if err != nil {
			l.NotReplayable = "the original body is not a valid task: " + err.Error()
			break
		}
		l.setTask(t)
	}
	return l
}

func (l *Letter) setTask(t domain.Task) {
	l.Task = &t
	if l.TaskID == "" {
		l.TaskID = t.ID
	}
	l.TaskKind, l.Subject, l.Region = string(t.Kind), t.Subject(), t.RegionID
	l.NotReplayable = ""
}

func fromEvent(env events.Envelope) Letter {
	l := Letter{Kind: KindStreamEvent, ID: "ev-" + env.ID, Reason: ReasonStreamGaveUp, At: env.EventTime(),
		Detail: "the work-queue event stream gave up on this event after its retries"}
	m, err := events.ParseQueueMessage(env)
	if err != nil {
		l.NotReplayable = "not a work-queue message event: " + err.Error()
		return l
	}
	t, err := domain.DecodeTask(m.TaskBody())
	if err != nil {
		l.NotReplayable = "its message is not a valid task: " + err.Error()
		return l
	}
	l.setTask(t)
	return l
}

// asyncRecord is FC's destination record (key names unconfirmed, see
// KindAsyncFailure).
type asyncRecord struct {
	Timestamp      int64 `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  string `json:"requestPayload"`
	ResponseContext struct {
		StatusCode    int    `json:"statusCode"`
		FunctionError string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload string `json:"responsePayload"`
}

func fromAsync(messageID string, a asyncRecord) Letter {
	rc := a.RequestContext
	id := rc.RequestID
	if id == "" {
		id = messageID
	}
	l := Letter{Kind: KindAsyncFailure, ID: "fc-" + id, Reason: rc.Condition,
		Detail:        first(Clip(a.ResponsePayload, 1024)),
		NotReplayable: "an asynchronous invocation: invoke the function again with its payload (see show)"}
	if l.Reason == "" {
		l.Reason = "async-failure"
	}
	if a.Timestamp > 0 {
		l.At = time.UnixMilli(a.Timestamp).UTC()
	}
	if i := strings.LastIndex(rc.FunctionArn, "/"); i >= 0 {
		l.Function = rc.FunctionArn[i+1:]
	}
	// instance-created's payload: name the instances it announced.
	if envs, err := events.DecodeEnvelopes(bytes.TrimSpace([]byte(a.RequestPayload))); err == nil {
		for _, env := range envs {
			if ev, err := events.ParseInstanceEvent(env); err == nil {
				l.InstanceIDs = append(l.InstanceIDs, ev.InstanceIDs...)
				l.Region = ev.RegionID
			}
		}
	}
	return l
}

// AsyncPayload returns what a show displays for an async failure: its
// request payload, bounded.
func AsyncPayload(body string) string {
	var a asyncRecord
	if json.Unmarshal([]byte(body), &a) != nil {
		return ""
	}
	return first(Clip(a.RequestPayload, 4096))
}

package domain

import (
	"bytes"
	"encoding/json"
	"time"
)

// TaskVersion is the version of the task wire format this build writes and
// reads. A worker refuses (dead-letters) a task of an unknown version rather
// than guessing what it means.
const TaskVersion = 1

// MaxTaskBytes bounds an encoded task, for both ends of the queue: EncodeTask
// refuses to write a larger one and DecodeTask to read it. MNS accepts up to
// 64 KiB per message, but a task is a few hundred bytes, so anything larger
// is not ours (or carries input nobody should have let through).
const MaxTaskBytes = 8 * 1024

// TaskKind says what a task asks the worker to do.
type TaskKind string

const (
	// TaskOnboard: make an instance a member of its role groups.
	TaskOnboard TaskKind = "onboard"
	// TaskDeleteGroup: delete a stale security group after re-checking it.
	TaskDeleteGroup TaskKind = "delete-group"
)

// Task is one unit of work on the queue. It is a hint, not a command: the
// worker re-reads the cloud and acts only on what is true now, so running a
// task twice is harmless.
type Task struct {
	Version  int      `json:"v"`
	Kind     TaskKind `json:"kind"`
	ID       string   `json:"id"` // stable per (kind, resource, cause) for log correlation
	RegionID string   `json:"region"`
	// InstanceID is set for TaskOnboard.
	InstanceID string `json:"instanceId,omitempty"`
	// GroupID is set for TaskDeleteGroup.
	GroupID string `json:"groupId,omitempty"`
	// StaleSince is the mark the cleanup run saw on the group (delete tasks):
	// the worker deletes only if the mark is still there and unchanged.
	StaleSince string `json:"staleSince,omitempty"`
	// Cause names what produced the task: an event ID, "reconcile", "manual",
	// or a cleanup run ID.
	Cause string `json:"cause,omitempty"`
	// Attempt counts deliveries made by re-enqueueing (push mode), from 1.
	Attempt    int       `json:"attempt,omitempty"`
	EnqueuedAt time.Time `json:"enqueuedAt"`
}

// Validate checks a task's fields; errors are KindInvalid.
func (t Task) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(KindInvalid, "validate task "+t.ID, "", format, args...)
	}
	if t.Version != TaskVersion {
		return bad("task version %d, this worker understands %d", t.Version, TaskVersion)
	}
	if !ValidRegionID(t.RegionID) {
		return bad("region %q is not a region ID", t.RegionID)
	}
	switch t.Kind {
	case TaskOnboard:
		if !ValidInstanceID(t.InstanceID) {
			return bad("onboard task: instance ID %q is malformed", t.InstanceID)
		}
	case TaskDeleteGroup:
		if !ValidGroupID(t.GroupID) {
			return bad("delete-group task: group ID %q is malformed", t.GroupID)
		}
	default:
		return bad("unknown task kind %q", t.Kind)
	}
	if t.Attempt < 0 {
		return bad("negative attempt %d", t.Attempt)
	}
	return nil
}

// Subject returns the resource the task is about.
func (t Task) Subject() string {
	if t.Kind == TaskDeleteGroup {
		return t.GroupID
	}
	return t.InstanceID
}

// NewOnboardTask builds an onboarding task for one instance.
func NewOnboardTask(regionID, instanceID, cause string, now time.Time) Task {
	return Task{Version: TaskVersion, Kind: TaskOnboard, ID: taskID(TaskOnboard, instanceID, cause),
		RegionID: regionID, InstanceID: instanceID, Cause: cause, Attempt: 1, EnqueuedAt: now.UTC()}
}

// NewDeleteGroupTask builds a delete task for a group carrying staleSince.
func NewDeleteGroupTask(regionID, groupID, staleSince, cause string, now time.Time) Task {
	return Task{Version: TaskVersion, Kind: TaskDeleteGroup, ID: taskID(TaskDeleteGroup, groupID, cause),
		RegionID: regionID, GroupID: groupID, StaleSince: staleSince, Cause: cause, Attempt: 1, EnqueuedAt: now.UTC()}
}

func taskID(kind TaskKind, subject, cause string) string {
	if cause == "" {
		return string(kind) + ":" + subject
	}
	return string(kind) + ":" + subject + ":" + cause
}

// EncodeTask renders a task as the JSON message body.
func EncodeTask(t Task) (string, error) {
	if err := t.Validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return "", Wrap(KindInternal, "encode task "+t.ID, "", err)
	}
	if len(b) > MaxTaskBytes {
		// Shorten the ID in the message: it may be what made the task large.
		return "", Errorf(KindInvalid, "encode task "+shorten(t.ID, 80), "", "task is %d bytes, larger than the %d-byte maximum every worker accepts", len(b), MaxTaskBytes)
	}
	return string(b), nil
}

// DecodeTask parses and validates a message body. Unknown fields are
// rejected: a body that is not exactly a task is not something to act on.
func DecodeTask(body string) (Task, error) {
	if len(body) > MaxTaskBytes {
		return Task{}, Errorf(KindInvalid, "decode task", "", "body is %d bytes, larger than %d", len(body), MaxTaskBytes)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	var t Task
	if err := dec.Decode(&t); err != nil {
		return Task{}, Errorf(KindInvalid, "decode task", "", "not a task: %v", err)
	}
	if dec.More() {
		return Task{}, Errorf(KindInvalid, "decode task", "", "trailing data after the task")
	}
	if err := t.Validate(); err != nil {
		return Task{}, err
	}
	return t, nil
}

// shorten cuts s to at most n bytes for messages, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

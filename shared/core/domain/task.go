package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
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
	// TaskCleanupRegion: one region's nightly cleanup, queued by the nightly
	// coordinator; a large region continues as TaskCleanupPart tasks.
	TaskCleanupRegion TaskKind = "cleanup-region"
	// TaskCleanupPart: the next networks (or group range) of a split
	// region's cleanup, carrying the run's checkpoint (Task.Part).
	TaskCleanupPart TaskKind = "cleanup-part"
	// TaskRolesNetwork: the role policy apply of one network of a region
	// too large for one invocation (Task.RolesNet).
	TaskRolesNetwork TaskKind = "roles-network"
	// TaskReconcilePage: the rest of a region's backfill, from the
	// listing's NextToken (Task.Reconcile).
	TaskReconcilePage TaskKind = "reconcile-page"
)

// MaxPageTokenBytes bounds a carried NextToken (ECS documents no length;
// its tokens are tens of bytes).
const MaxPageTokenBytes = 1024

// ReconcilePage is the checkpoint of a backfill split by pages: where the
// listing goes on, and how many parts ran before.
type ReconcilePage struct {
	Token string `json:"token"`
	Parts int    `json:"parts"`
}

// RolesNetwork is what a roles-network task carries: the network and the
// hash of the policy the run planned with. The worker applies its own copy
// of the policy only when the hashes agree, so a worker with another policy
// file never changes rules on behalf of a run it does not understand.
type RolesNetwork struct {
	// VPCID is the network; "" is the classic network.
	VPCID      string `json:"vpcId,omitempty"`
	PolicyHash string `json:"policyHash"`
}

// MaxCarriedCandidates bounds the delete candidates a cleanup part carries
// to the next: with the other fields a part stays far below MaxTaskBytes.
const MaxCarriedCandidates = 64

// CleanupPart is the checkpoint of a split cleanup run, carried from each
// part to the next on the queue (there is no other store): where to go on,
// and what the parts before found. Deletion candidates are carried, not
// deleted, so the blast radius is decided once, over the whole region, by
// the last part.
type CleanupPart struct {
	// Networks are the region's networks in processing order ("" is the
	// classic network); Next indexes the one to process, and After, when
	// set, is the last group ID of Networks[Next] already processed.
	Networks []string `json:"networks"`
	Next     int      `json:"next"`
	After    string   `json:"after,omitempty"`
	// Now is the run's clock reading: every part plans against it.
	Now time.Time `json:"now"`
	// Roles are the roles the role policy declared when the run started
	// (their groups are kept): the worker plans with the coordinator's
	// policy, whatever its own files say.
	Roles []string `json:"roles,omitempty"`
	// Parts counts the parts run so far (this one excluded).
	Parts int `json:"parts"`
	// Totals of the parts so far.
	Scanned  int `json:"scanned"`
	InScope  int `json:"inScope"`
	Marked   int `json:"marked"`
	Unmarked int `json:"unmarked"`
	Errors   int `json:"errors"`
	// CandidateCount counts the groups found deletable; Candidates lists
	// them as "groupID@staleSince" while they are at most
	// MaxCarriedCandidates (an over-limit night needs only the count).
	CandidateCount int      `json:"candidateCount"`
	Candidates     []string `json:"candidates,omitempty"`
	// Release marks the second pass of a region whose approved deletions
	// did not fit in Candidates: it plans the networks again and queues
	// the deletable groups it finds, at most Allowed in all (the count the
	// blast radius approved); Enqueued counts those queued so far.
	Release  bool `json:"release,omitempty"`
	Allowed  int  `json:"allowed,omitempty"`
	Enqueued int  `json:"enqueued,omitempty"`
}

// position names where a part resumes: region, pass, network index and
// last group done ("cn-hangzhou/1/sg-…", "cn-hangzhou/release/0").
func (p *CleanupPart) position(regionID string) string {
	at := fmt.Sprintf("%s/%d", regionID, p.Next)
	if p.Release {
		at = fmt.Sprintf("%s/release/%d", regionID, p.Next)
	}
	if p.After != "" {
		at += "/" + p.After
	}
	return at
}

func (p *CleanupPart) validate() string {
	switch {
	case p == nil:
		return "cleanup-part task without its part"
	case p.Next < 0 || p.Next > len(p.Networks):
		return "part index out of range"
	case p.Now.IsZero():
		return "part without the run's time"
	case len(p.Candidates) > MaxCarriedCandidates || p.CandidateCount < len(p.Candidates):
		return "candidate list longer than allowed or than its count"
	case p.Allowed < 0 || p.Enqueued < 0 || p.Enqueued > p.Allowed || (!p.Release && p.Allowed > 0):
		return "release counts out of range"
	case p.After != "" && !ValidGroupID(p.After):
		return "resume point is not a group ID"
	}
	for _, r := range p.Roles {
		if r == "" || len(r) > 64 {
			return "role name " + shorten(r, 80) + " is empty or too long"
		}
	}
	for _, n := range p.Networks {
		if n != "" && !ValidVPCID(n) {
			return "network " + n + " is not a VPC ID"
		}
	}
	for _, c := range p.Candidates {
		id, mark, ok := strings.Cut(c, "@")
		if !ok || !ValidGroupID(id) || mark == "" {
			return "candidate " + c + " is not groupID@staleSince"
		}
	}
	return ""
}

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
	// Part is the checkpoint of a TaskCleanupPart.
	Part *CleanupPart `json:"part,omitempty"`
	// Reconcile is set for TaskReconcilePage.
	Reconcile *ReconcilePage `json:"reconcile,omitempty"`
	// RolesNet is set for TaskRolesNetwork.
	RolesNet *RolesNetwork `json:"rolesNet,omitempty"`
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
	case TaskCleanupRegion:
		if t.Part != nil && len(t.Part.Networks) > 0 {
			return bad("cleanup-region task: networks belong to its parts")
		}
	case TaskCleanupPart:
		if msg := t.Part.validate(); msg != "" {
			return bad("cleanup-part task: %s", msg)
		}
	case TaskRolesNetwork:
		switch n := t.RolesNet; {
		case n == nil:
			return bad("roles-network task without its network")
		case n.VPCID != "" && !ValidVPCID(n.VPCID):
			return bad("roles-network task: network %q is not a VPC ID", n.VPCID)
		case n.PolicyHash == "" || len(n.PolicyHash) > 128:
			return bad("roles-network task: policy hash missing or too long")
		}
	case TaskReconcilePage:
		switch p := t.Reconcile; {
		case p == nil || p.Token == "":
			return bad("reconcile-page task without its page token")
		case len(p.Token) > MaxPageTokenBytes || p.Parts < 0:
			return bad("reconcile-page task: token longer than %d bytes or negative part count", MaxPageTokenBytes)
		}
	default:
		return bad("unknown task kind %q", t.Kind)
	}
	if t.Reconcile != nil && t.Kind != TaskReconcilePage {
		return bad("a %s task carries a page token", t.Kind)
	}
	if t.RolesNet != nil && t.Kind != TaskRolesNetwork {
		return bad("a %s task carries a roles network", t.Kind)
	}
	if t.Part != nil && t.Kind != TaskCleanupPart && t.Kind != TaskCleanupRegion {
		return bad("a %s task carries a cleanup part", t.Kind)
	}
	if t.Attempt < 0 {
		return bad("negative attempt %d", t.Attempt)
	}
	return nil
}

// Subject returns the resource the task is about.
func (t Task) Subject() string {
	switch t.Kind {
	case TaskDeleteGroup:
		return t.GroupID
	case TaskCleanupRegion:
		return t.RegionID
	case TaskReconcilePage:
		// Each page is a piece of work of its own.
		if t.Reconcile != nil {
			return fmt.Sprintf("%s#%d", t.RegionID, t.Reconcile.Parts)
		}
		return t.RegionID
	case TaskRolesNetwork:
		if t.RolesNet != nil && t.RolesNet.VPCID != "" {
			return t.RolesNet.VPCID
		}
		return t.RegionID + "/classic"
	case TaskCleanupPart:
		// The position, not only the region: the worker runs tasks with
		// the same subject once, and two parts of a region are two pieces
		// of work (the same part twice, from a redelivery, is one).
		if t.Part != nil {
			return t.Part.position(t.RegionID)
		}
		return t.RegionID
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

// NewCleanupRegionTask builds the task of one region's cleanup in run runID,
// planned at now with the declared roles.
func NewCleanupRegionTask(regionID, runID string, roles []string, now time.Time) Task {
	return Task{Version: TaskVersion, Kind: TaskCleanupRegion, ID: taskID(TaskCleanupRegion, regionID, runID),
		RegionID: regionID, Cause: runID, Part: &CleanupPart{Now: now.UTC(), Roles: roles}, Attempt: 1, EnqueuedAt: now.UTC()}
}

// NewCleanupPartTask builds the part of run runID that resumes at p's
// position. The ID names the position, so a part sent twice is one part in
// the logs (and, being level-based, harmless when run twice).
func NewCleanupPartTask(regionID, runID string, p CleanupPart, now time.Time) Task {
	return Task{Version: TaskVersion, Kind: TaskCleanupPart, ID: taskID(TaskCleanupPart, p.position(regionID), runID),
		RegionID: regionID, Cause: runID, Part: &p, Attempt: 1, EnqueuedAt: now.UTC()}
}

// NewRolesNetworkTask builds the task applying the role policy (hash
// policyHash) to network vpcID ("" classic) of a region in run runID.
func NewRolesNetworkTask(regionID, vpcID, policyHash, runID string, now time.Time) Task {
	subject := vpcID
	if subject == "" {
		subject = regionID + "/classic"
	}
	return Task{Version: TaskVersion, Kind: TaskRolesNetwork, ID: taskID(TaskRolesNetwork, subject, runID),
		RegionID: regionID, Cause: runID, RolesNet: &RolesNetwork{VPCID: vpcID, PolicyHash: policyHash},
		Attempt: 1, EnqueuedAt: now.UTC()}
}

// NewReconcilePageTask builds the part of a region's backfill that resumes
// the listing at token, the part after parts others.
func NewReconcilePageTask(regionID, token, runID string, parts int, now time.Time) Task {
	return Task{Version: TaskVersion, Kind: TaskReconcilePage, ID: taskID(TaskReconcilePage, fmt.Sprintf("%s#%d", regionID, parts), runID),
		RegionID: regionID, Cause: runID, Reconcile: &ReconcilePage{Token: token, Parts: parts}, Attempt: 1, EnqueuedAt: now.UTC()}
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

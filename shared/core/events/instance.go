package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Event sources and types sgpilot understands.
const (
	SourceECS = "acs.ecs"

	TypeStateChange        = "ecs:Instance:StateChange"
	TypeAPICall            = "ecs:ActionTrail:ApiCall"
	TypeServiceEvent       = "ecs:ActionTrail:AliyunServiceEvent"
	TypeMNSSendMessage     = "mns:Queue:SendMessage"
	ResourceTypeInstance   = "ALIYUN::ECS::Instance"
	APIRunInstances        = "RunInstances"
	APICreateInstance      = "CreateInstance"
	StateCreated           = "Created"
	StateRunning           = "Running"
	TriggerStateChange     = "state-change"
	TriggerAPICall         = "api-call"
	instanceARNResourceTag = "instance/"
)

// NewInstanceStates are the StateChange states that bring a task: Created
// announces the instance, Running says it can change groups now (see the
// package documentation).
var NewInstanceStates = []string{StateCreated, StateRunning}

// ErrUnrelated is matched (errors.Is) by every *UnrelatedError.
var ErrUnrelated = errors.New("event is not for sgpilot")

// UnrelatedError says why a well-formed event is none of sgpilot's business.
// It is not a failure: handlers log the reason and drop the event.
type UnrelatedError struct {
	EventID string
	Reason  string
}

func (e *UnrelatedError) Error() string {
	return "event " + e.EventID + " ignored: " + e.Reason
}

// Is makes errors.Is(err, ErrUnrelated) true.
func (e *UnrelatedError) Is(target error) bool { return target == ErrUnrelated }

// UnrelatedReason returns the reason when err is (or wraps) an
// *UnrelatedError.
func UnrelatedReason(err error) (string, bool) {
	var u *UnrelatedError
	if errors.As(err, &u) {
		return u.Reason, true
	}
	return "", false
}

func unrelated(env Envelope, reason string) error {
	return &UnrelatedError{EventID: env.ID, Reason: reason}
}

// InstanceEvent is what sgpilot takes from an ECS event: which instances of
// which account and region may be new. It is a hint; the worker re-reads the
// instances before acting.
type InstanceEvent struct {
	EventID     string   `json:"eventId"`
	Source      string   `json:"source"`
	Type        string   `json:"type"`
	AccountID   string   `json:"accountId"`
	RegionID    string   `json:"regionId"`
	InstanceIDs []string `json:"instanceIds"`
	// State is the StateChange state ("" for API calls).
	State string `json:"state,omitempty"`
	// APIName is the ActionTrail eventName ("" for state changes).
	APIName string `json:"apiName,omitempty"`
	// Trigger is TriggerStateChange, TriggerAPICall or TriggerTagChange.
	Trigger string    `json:"trigger"`
	Time    time.Time `json:"time"`
	// TagKeys are the keys a tag call touched (TriggerTagChange only);
	// AllTags is UntagResources' All=true.
	TagKeys []string `json:"tagKeys,omitempty"`
	AllTags bool     `json:"allTags,omitempty"`
}

// ParseInstanceEvent extracts the instances an ECS event announces. It
// returns an *UnrelatedError for events sgpilot ignores (another source or
// type, a state other than Created/Running, an API call that neither creates
// an instance nor changes instance tags, a failed or dry-run call) and a KindInvalid error for a relevant
// event it cannot read (missing data, no instance ID, an unreadable ARN,
// regions that disagree). It does not check ID formats or the account: that
// is the caller's policy (intake.Validator).
func ParseInstanceEvent(env Envelope) (InstanceEvent, error) {
	if env.Source != SourceECS {
		return InstanceEvent{}, unrelated(env, "source "+strconv.Quote(env.Source)+" is not "+SourceECS)
	}
	ev := InstanceEvent{EventID: env.ID, Source: env.Source, Type: env.Type,
		AccountID: env.AccountID, RegionID: env.RegionID, Time: env.EventTime()}
	if len(env.Data) == 0 {
		switch env.Type {
		case TypeStateChange, TypeAPICall, TypeServiceEvent:
			return InstanceEvent{}, invalid("parse event "+env.ID, "%s event has no data", env.Type)
		}
	}
	var err error
	switch env.Type {
	case TypeStateChange:
		err = parseStateChange(env, &ev)
	case TypeAPICall, TypeServiceEvent:
		err = parseActionTrail(env, &ev)
	default:
		return InstanceEvent{}, unrelated(env, "type "+strconv.Quote(env.Type)+" does not announce new instances")
	}
	if err != nil {
		return InstanceEvent{}, err
	}
	ev.InstanceIDs = uniqueInOrder(ev.InstanceIDs)
	if len(ev.InstanceIDs) == 0 {
		return InstanceEvent{}, invalid("parse event "+env.ID, "no instance IDs in the %s event", env.Type)
	}
	return ev, nil
}

// stateChangeData covers both shapes of the StateChange data: the flat one
// and the CloudMonitor body with the state fields nested under content.
type stateChangeData struct {
	ResourceID   string              `json:"resourceId"`
	ResourceType string              `json:"resourceType"`
	RegionID     string              `json:"regionId"`
	State        string              `json:"state"`
	UserID       string              `json:"userId"`
	EventTime    string              `json:"eventTime"`
	Content      *stateChangeContent `json:"content"`
}

type stateChangeContent struct {
	ResourceID   string `json:"resourceId"`
	ResourceType string `json:"resourceType"`
	State        string `json:"state"`
}

func parseStateChange(env Envelope, ev *InstanceEvent) error {
	op := "parse event " + env.ID
	var d stateChangeData
	if err := decodeObject(env.Data, &d); err != nil {
		return invalid(op, "%s data: %v", env.Type, err)
	}
	resourceID, resourceType, state := d.ResourceID, d.ResourceType, d.State
	if c := d.Content; c != nil {
		// CloudMonitor body: content holds the facts, the outer resourceId
		// is the ARN and stays a fallback.
		if c.ResourceID != "" {
			resourceID = c.ResourceID
		}
		if c.ResourceType != "" {
			resourceType = c.ResourceType
		}
		if c.State != "" {
			state = c.State
		}
	}
	if resourceType != "" && resourceType != ResourceTypeInstance {
		return unrelated(env, "resource type "+strconv.Quote(resourceType)+" is not an ECS instance")
	}
	if state == "" {
		return invalid(op, "%s data has no state", env.Type)
	}
	if !isNewInstanceState(state) {
		return unrelated(env, "state "+strconv.Quote(state)+" does not announce a new instance")
	}
	ev.State = state
	ev.Trigger = TriggerStateChange
	id, arn, err := instanceFromResource(resourceID)
	if err != nil {
		return invalid(op, "%v", err)
	}
	if d.Content != nil && d.ResourceID != "" && d.ResourceID != resourceID {
		// CloudMonitor body: the outer resourceId is the ARN of the same
		// instance; it adds region and account, and must agree.
		if outerID, outerARN, err := instanceFromResource(d.ResourceID); err == nil {
			if outerID != "" && outerID != id {
				return invalid(op, "data names two instances, %q and %q", id, outerID)
			}
			arn = outerARN
		}
	}
	if id == "" {
		return invalid(op, "no instance IDs in the %s event (resourceId is empty)", env.Type)
	}
	ev.InstanceIDs = []string{id}
	if ev.AccountID == "" {
		ev.AccountID = firstNonEmpty(arn.account, d.UserID)
	}
	if ev.Time.IsZero() {
		if t, ok := parseTime(d.EventTime); ok {
			ev.Time = t
		}
	}
	return reconcileRegion(op, ev, d.RegionID, arn.region)
}

func isNewInstanceState(s string) bool {
	for _, ok := range NewInstanceStates {
		if strings.EqualFold(s, ok) {
			return true
		}
	}
	return false
}

type arnParts struct{ region, account string }

// instanceFromResource takes a bare instance ID or an ARN
// "acs:ecs:<region>:<uid>:instance/<id>" and returns the ID.
func instanceFromResource(s string) (string, arnParts, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "acs:") {
		if strings.ContainsAny(s, ":/") {
			return "", arnParts{}, errors.New("resourceId " + strconv.Quote(clip(s, 80)) + " is neither an instance ID nor an acs:ecs ARN")
		}
		return s, arnParts{}, nil
	}
	parts := strings.SplitN(s, ":", 5)
	if len(parts) != 5 || parts[1] != "ecs" || !strings.HasPrefix(parts[4], instanceARNResourceTag) {
		return "", arnParts{}, errors.New("resource ARN " + strconv.Quote(clip(s, 80)) + " is not acs:ecs:<region>:<account>:instance/<id>")
	}
	id := strings.TrimPrefix(parts[4], instanceARNResourceTag)
	if id == "" || strings.ContainsAny(id, ":/") {
		return "", arnParts{}, errors.New("resource ARN " + strconv.Quote(clip(s, 80)) + " names no instance")
	}
	return id, arnParts{region: parts[2], account: parts[3]}, nil
}

// actionTrailData is the part of an ActionTrail record sgpilot reads.
type actionTrailData struct {
	EventName         string          `json:"eventName"`
	EventTime         string          `json:"eventTime"`
	AcsRegion         string          `json:"acsRegion"`
	ErrorCode         string          `json:"errorCode"`
	ErrorMessage      string          `json:"errorMessage"`
	UserIdentity      json.RawMessage `json:"userIdentity"`
	RequestParameters json.RawMessage `json:"requestParameters"`
	ResponseElements  json.RawMessage `json:"responseElements"`
}

type userIdentity struct {
	AccountID json.RawMessage `json:"accountId"`
}

type requestParameters struct {
	RegionID json.RawMessage `json:"RegionId"`
	DryRun   json.RawMessage `json:"DryRun"`
}

// responseElements: RunInstances returns InstanceIdSets.InstanceIdSet,
// CreateInstance returns InstanceId. (encoding/json matches member names
// case-insensitively, so "instanceId" works too.)
type responseElements struct {
	InstanceID     json.RawMessage `json:"InstanceId"`
	InstanceIDSets *struct {
		InstanceIDSet json.RawMessage `json:"InstanceIdSet"`
	} `json:"InstanceIdSets"`
}

func parseActionTrail(env Envelope, ev *InstanceEvent) error {
	op := "parse event " + env.ID
	var d actionTrailData
	if err := decodeObject(env.Data, &d); err != nil {
		return invalid(op, "%s data: %v", env.Type, err)
	}
	ev.APIName = d.EventName
	ev.Trigger = TriggerAPICall
	if isTagAPI(d.EventName) {
		return parseTagCall(env, ev, d)
	}
	if d.EventName != APIRunInstances && d.EventName != APICreateInstance {
		return unrelated(env, "API call "+strconv.Quote(d.EventName)+" creates no instance and changes no tag")
	}
	if d.ErrorCode != "" {
		return unrelated(env, d.EventName+" failed with "+d.ErrorCode+": no instance was created")
	}
	var params requestParameters
	if len(d.RequestParameters) > 0 {
		if err := decodeObjectOrString(d.RequestParameters, &params); err != nil {
			return invalid(op, "requestParameters: %v", err)
		}
		if isTrue(params.DryRun) {
			return unrelated(env, d.EventName+" was a DryRun: no instance was created")
		}
	}
	if len(d.ResponseElements) == 0 || bytes.Equal(d.ResponseElements, []byte("null")) {
		return invalid(op, "no instance IDs: the %s record has no responseElements", d.EventName)
	}
	var resp responseElements
	if err := decodeObjectOrString(d.ResponseElements, &resp); err != nil {
		return invalid(op, "responseElements: %v", err)
	}
	var ids []string
	if resp.InstanceIDSets != nil {
		list, err := stringOrList(resp.InstanceIDSets.InstanceIDSet)
		if err != nil {
			return invalid(op, "responseElements.InstanceIdSets.InstanceIdSet: %v", err)
		}
		ids = append(ids, list...)
	}
	if len(resp.InstanceID) > 0 {
		list, err := stringOrList(resp.InstanceID)
		if err != nil {
			return invalid(op, "responseElements.InstanceId: %v", err)
		}
		ids = append(ids, list...)
	}
	if len(uniqueInOrder(ids)) == 0 {
		return invalid(op, "no instance IDs in the responseElements of %s", d.EventName)
	}
	ev.InstanceIDs = ids
	if ev.AccountID == "" && len(d.UserIdentity) > 0 {
		var u userIdentity
		if decodeObject(d.UserIdentity, &u) == nil {
			ev.AccountID = scalarString(u.AccountID)
		}
	}
	if ev.Time.IsZero() {
		if t, ok := parseTime(d.EventTime); ok {
			ev.Time = t
		}
	}
	return reconcileRegion(op, ev, d.AcsRegion, scalarString(params.RegionID))
}

// reconcileRegion fills ev.RegionID from the data when the envelope had
// none, and refuses an event whose sources disagree about the region.
func reconcileRegion(op string, ev *InstanceEvent, candidates ...string) error {
	for _, r := range candidates {
		if r == "" {
			continue
		}
		if ev.RegionID == "" {
			ev.RegionID = r
			continue
		}
		if r != ev.RegionID {
			return invalid(op, "event names two regions, %q and %q", ev.RegionID, r)
		}
	}
	if ev.RegionID == "" {
		return invalid(op, "event names no region")
	}
	return nil
}

// decodeObject decodes a JSON object into v (unknown members ignored).
func decodeObject(raw json.RawMessage, v any) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(trimmed, v)
}

// decodeObjectOrString accepts an object or a string holding one (some
// ActionTrail deliveries carry requestParameters/responseElements as text).
func decodeObjectOrString(raw json.RawMessage, v any) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return err
		}
		trimmed = []byte(s)
	}
	return decodeObject(trimmed, v)
}

// stringOrList reads a JSON string or an array of strings.
func stringOrList(raw json.RawMessage) ([]string, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	if trimmed[0] == '"' {
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(trimmed, &list); err != nil {
		return nil, errors.New("want a string or an array of strings")
	}
	return list, nil
}

// scalarString renders a JSON string or number as text ("" otherwise):
// account IDs are documented as strings but are numbers in some producers.
func scalarString(raw json.RawMessage) string {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(trimmed, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(trimmed, &n) == nil {
		return n.String()
	}
	return ""
}

// isTrue reads a JSON true or "true".
func isTrue(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	return strings.EqualFold(scalarString(raw), "true")
}

func uniqueInOrder(ids []string) []string {
	out := ids[:0:0]
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

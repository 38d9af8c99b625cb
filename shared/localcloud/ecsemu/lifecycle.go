package ecsemu

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Instance state-change event states (§4.2). Pending is an API status only;
// creation is announced once as Created.
const (
	stateCreated  = "Created"
	stateDeleted  = "Deleted"
	eventBus      = "default"
	eventSource   = "acs.ecs"
	typeState     = "ecs:Instance:StateChange"
	typeAPICall   = "ecs:ActionTrail:ApiCall"
	resourceTypeI = "ALIYUN::ECS::Instance"
)

// run is the lifecycle goroutine: it moves instances through transitional
// statuses when wall time ticks or the emulated clock jumps, so events are
// published even when no request arrives.
func (s *Service) run() {
	defer close(s.done)
	t := time.NewTicker(s.opts.TickInterval)
	defer t.Stop()
	for {
		changed := s.env.Clock.Changed()
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-changed:
		}
		s.Tick()
	}
}

// Tick applies every status transition that is due at the emulated clock's
// now and publishes the resulting events. The lifecycle goroutine calls it;
// tests may call it to avoid waiting for the ticker.
func (s *Service) Tick() {
	var evs []core.CloudEvent
	s.mu.Lock()
	if len(s.w.transitional) == 0 {
		s.mu.Unlock()
		return
	}
	s.advanceLocked(s.env.Clock.Now(), &evs)
	s.pubMu.Lock()
	s.mu.Unlock()
	for _, ev := range evs {
		s.env.Events.Publish(ev)
	}
	s.pubMu.Unlock()
}

// advanceLocked applies due transitions. A transition whose deadline passed
// long ago still emits its intermediate states in order.
func (s *Service) advanceLocked(now time.Time, evs *[]core.CloudEvent) {
	for len(s.w.transitional) > 0 {
		progressed := false
		for id, in := range s.w.transitional {
			if in.nextAt.After(now) {
				continue
			}
			progressed = true
			at := in.nextAt
			switch in.Status {
			case statusPending:
				s.setStatus(in, statusStarting, at.Add(s.opts.StartingDuration), at, evs)
			case statusStarting:
				s.setStatus(in, statusRunning, time.Time{}, at, evs)
			case statusStopping:
				s.setStatus(in, statusStopped, time.Time{}, at, evs)
			default:
				delete(s.w.transitional, id)
			}
		}
		if !progressed {
			return
		}
	}
}

// setStatus moves in to status (transitional until next when next is not
// zero) and queues the state-change event stamped at.
func (s *Service) setStatus(in *instance, status string, next, at time.Time, evs *[]core.CloudEvent) {
	in.Status = status
	in.nextAt = next
	if next.IsZero() {
		delete(s.w.transitional, in.ID)
	} else {
		s.w.transitional[in.ID] = in
	}
	if evs != nil {
		*evs = append(*evs, s.stateEvent(in, status, at))
	}
}

type stateData struct {
	ResourceID   string `json:"resourceId"`
	ResourceType string `json:"resourceType"`
	RegionID     string `json:"regionId"`
	State        string `json:"state"`
}

func (s *Service) stateEvent(in *instance, state string, at time.Time) core.CloudEvent {
	data, _ := json.Marshal(stateData{ResourceID: in.ID, ResourceType: resourceTypeI, RegionID: in.RegionID, State: state})
	return s.envelope(typeState, subjectPrefix+":"+in.RegionID+":"+s.env.AccountID+":"+in.ID, in.RegionID, at, data)
}

func (s *Service) envelope(typ, subject, region string, at time.Time, data []byte) core.CloudEvent {
	pub := s.env.Clock.Now()
	if pub.Before(at) {
		pub = at
	}
	return core.CloudEvent{
		ID:                      strings.ToLower(core.NewRequestID()),
		Source:                  eventSource,
		SpecVersion:             "1.0",
		Type:                    typ,
		Subject:                 subject,
		Time:                    at.UTC().Format(time.RFC3339),
		DataContentType:         "application/json;charset=utf-8",
		AliyunAccountID:         s.env.AccountID,
		AliyunOriginalAccountID: s.env.AccountID,
		AliyunRegionID:          region,
		AliyunPublishTime:       pub.UTC().Format("2006-01-02T15:04:05.000Z"),
		AliyunEventBusName:      eventBus,
		AliyunPublishAddr:       "127.0.0.1",
		Data:                    data,
	}
}

// Trail record of one API call (§4.3).
type trailIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	AccountID   string `json:"accountId"`
	AccessKeyID string `json:"accessKeyId"`
	UserName    string `json:"userName,omitempty"`
}

type trailData struct {
	EventID           string            `json:"eventId"`
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	EventType         string            `json:"eventType"`
	EventName         string            `json:"eventName"`
	EventTime         string            `json:"eventTime"`
	AcsRegion         string            `json:"acsRegion"`
	APIVersion        string            `json:"apiVersion"`
	ServiceName       string            `json:"serviceName"`
	RequestID         string            `json:"requestId"`
	SourceIPAddress   string            `json:"sourceIpAddress"`
	UserAgent         string            `json:"userAgent"`
	IsGlobal          bool              `json:"isGlobal"`
	UserIdentity      trailIdentity     `json:"userIdentity"`
	RequestParameters map[string]string `json:"requestParameters"`
	ResponseElements  any               `json:"responseElements"`
}

// auth and envelope parameters are not part of an ActionTrail record.
var trailSkip = map[string]bool{
	"AccessKeyId": true, "Signature": true, "SignatureMethod": true, "SignatureVersion": true,
	"SignatureNonce": true, "SignatureType": true, "SecurityToken": true, "Timestamp": true, "Format": true,
	"Version": true, "Action": true,
}

// trailEvent builds the ecs:ActionTrail:ApiCall event of a successful call.
func (s *Service) trailEvent(c *call, response any) core.CloudEvent {
	req := map[string]string{}
	for k, v := range c.p {
		if !trailSkip[k] {
			req[k] = v
		}
	}
	id := trailIdentity{Type: "root-account", PrincipalID: s.env.AccountID, AccountID: s.env.AccountID, AccessKeyID: c.akid}
	if c.sts {
		id.Type = "assumed-role"
	}
	data, _ := json.Marshal(trailData{
		EventID:           c.requestID,
		EventVersion:      "1",
		EventSource:       hostID(c.region),
		EventType:         "ApiCall",
		EventName:         c.action,
		EventTime:         c.now.UTC().Format("2006-01-02T15:04:05Z"),
		AcsRegion:         c.region,
		APIVersion:        APIVersion,
		ServiceName:       "Ecs",
		RequestID:         c.requestID,
		SourceIPAddress:   c.remote,
		UserAgent:         c.userAgent,
		UserIdentity:      id,
		RequestParameters: req,
		ResponseElements:  response,
	})
	return s.envelope(typeAPICall, subjectPrefix+":"+c.region+":"+s.env.AccountID+":"+c.action, c.region, c.now, data)
}

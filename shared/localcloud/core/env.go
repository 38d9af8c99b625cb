package core

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// Env is what every emulator of one localcloud shares: one account, one clock,
// one credential store, one set of controls and one event bus.
type Env struct {
	AccountID   string
	Clock       *Clock
	Credentials *Credentials
	Controls    *Controls
	Events      *EventBus
	// RAM evaluates the policies of assumed roles; nil = nothing is
	// restricted (the default).
	RAM *ramemu.Engine
}

// Authorize asks RAM whether the credential accessKeyID may do req. Keys
// without a role (the account's own, the tests' and admin's) are never
// restricted, nor is anything when RAM is nil. A refusal is a
// *ramemu.DeniedError.
func (e *Env) Authorize(accessKeyID string, req ramemu.Request) error {
	if e.RAM == nil {
		return nil
	}
	cred, ok := e.Credentials.Get(accessKeyID)
	if !ok || cred.Role == "" {
		return nil
	}
	return e.RAM.Authorize(ramemu.Principal{Role: cred.Role, Session: cred.Session}, req)
}

// NewEnv returns an Env for accountID with a wall-following clock, an empty
// credential store, controls seeded with faultSeed and an empty event bus.
func NewEnv(accountID string, faultSeed int64) *Env {
	clock := NewClock()
	return &Env{
		AccountID:   accountID,
		Clock:       clock,
		Credentials: NewCredentials(clock),
		Controls:    NewControls(faultSeed),
		Events:      NewEventBus(),
	}
}

// CloudEvent is an Alibaba EventBridge event envelope (CloudEvents 1.0 plus
// the aliyun* extension attributes), as delivered to functions.
type CloudEvent struct {
	ID                      string          `json:"id"`
	Source                  string          `json:"source"`
	SpecVersion             string          `json:"specversion"`
	Type                    string          `json:"type"`
	Subject                 string          `json:"subject,omitempty"`
	Time                    string          `json:"time"`
	DataContentType         string          `json:"datacontenttype,omitempty"`
	AliyunAccountID         string          `json:"aliyunaccountid"`
	AliyunOriginalAccountID string          `json:"aliyunoriginalaccountid,omitempty"`
	AliyunRegionID          string          `json:"aliyunregionid"`
	AliyunPublishTime       string          `json:"aliyunpublishtime"`
	AliyunEventBusName      string          `json:"aliyuneventbusname"`
	AliyunPublishAddr       string          `json:"aliyunpublishaddr,omitempty"`
	Data                    json.RawMessage `json:"data"`
}

// EventBus fans events out to subscribers (the FC emulator's EventBridge
// triggers). Publish never blocks on a subscriber: each subscriber must hand
// the event off quickly (queue it) itself.
type EventBus struct {
	mu   sync.RWMutex
	subs map[int]func(CloudEvent)
	next int
}

// NewEventBus returns a bus with no subscribers.
func NewEventBus() *EventBus { return &EventBus{subs: map[int]func(CloudEvent){}} }

// Subscribe registers fn and returns a function that removes it.
func (b *EventBus) Subscribe(fn func(CloudEvent)) (unsubscribe func()) {
	b.mu.Lock()
	id := b.next
	b.next++
	b.subs[id] = fn
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

// Publish hands ev to every subscriber.
func (b *EventBus) Publish(ev CloudEvent) {
	b.mu.RLock()
	fns := make([]func(CloudEvent), 0, len(b.subs))
	for _, fn := range b.subs {
		fns = append(fns, fn)
	}
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// HangUp closes the client's TCP connection without an HTTP answer,
// the way a broken network or a crashed front end looks to an SDK.
func HangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Not hijackable (HTTP/2 or a test recorder): abort the handler, which
		// net/http turns into a reset stream / closed connection.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

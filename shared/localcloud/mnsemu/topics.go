package mnsemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Topics: the emulator models MNS topics the way the Go SDK's topic API
// uses them (CreateTopic, GetTopicAttributes, SetTopicAttributes,
// DeleteTopic, PublishMessage, Subscribe, GetSubscriptionAttributes,
// Unsubscribe) and pushes published messages to HTTP(S) subscription
// endpoints, signed as MNS signs notifications, retried per the
// subscription's NotifyStrategy. Queue, mail and SMS endpoints are accepted
// and recorded but not delivered (assumption: sgpilot only documents HTTP
// endpoints and e-mail, which needs DirectMail).

// Topic operation names, as used for core.Controls keys ("mns/PublishMessage").
const (
	OpCreateTopic               = "CreateTopic"
	OpSetTopicAttributes        = "SetTopicAttributes"
	OpGetTopicAttributes        = "GetTopicAttributes"
	OpDeleteTopic               = "DeleteTopic"
	OpPublishMessage            = "PublishMessage"
	OpSubscribe                 = "Subscribe"
	OpGetSubscriptionAttributes = "GetSubscriptionAttributes"
	OpUnsubscribe               = "Unsubscribe"
)

// Topic error codes.
const (
	CodeTopicNotExist            = "TopicNotExist"
	CodeTopicAlreadyExist        = "TopicAlreadyExist"
	CodeSubscriptionNotExist     = "SubscriptionNotExist"
	CodeSubscriptionAlreadyExist = "SubscriptionAlreadyExist"
)

// Notify strategies and content formats of a subscription.
const (
	StrategyBackoff     = "BACKOFF_RETRY"
	StrategyExponential = "EXPONENTIAL_DECAY_RETRY"
	FormatXML           = "XML"
	FormatSimplified    = "SIMPLIFIED"
	FormatJSON          = "JSON"
)

// SigningCertPath is where the emulator serves the X.509 certificate whose
// key signs its pushes; x-mns-signing-cert-url carries its URL (base64).
// The real service serves certificates from OSS
// (https://mnstest.oss-cn-hangzhou.aliyuncs.com/…); an endpoint that pins
// that prefix must relax it for localcloud.
const SigningCertPath = "/x509/mns-signing-cert.pem"

// TopicAttributes are a topic's settable attributes.
type TopicAttributes struct {
	MaximumMessageSize int  `json:"maximumMessageSize"`
	LoggingEnabled     bool `json:"loggingEnabled"`
}

// SubscriptionAttributes describe one subscription.
type SubscriptionAttributes struct {
	Name                string `json:"name"`
	Endpoint            string `json:"endpoint"`
	FilterTag           string `json:"filterTag,omitempty"`
	NotifyStrategy      string `json:"notifyStrategy"`
	NotifyContentFormat string `json:"notifyContentFormat"`
}

// Published is one message published to a topic, with its deliveries.
type Published struct {
	ID          string     `json:"id"`
	Topic       string     `json:"topic"`
	Body        string     `json:"body"`
	Tag         string     `json:"tag,omitempty"`
	PublishTime time.Time  `json:"publishTime"`
	Deliveries  []Delivery `json:"deliveries"`
}

// Delivery is the push of one message to one subscription.
type Delivery struct {
	Subscription string `json:"subscription"`
	Endpoint     string `json:"endpoint"`
	// State is "pending", "delivered", "failed" (retries exhausted) or
	// "skipped" (an endpoint kind the emulator does not push to).
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// LastStatus is the endpoint's last HTTP status (0: no answer).
	LastStatus int    `json:"lastStatus,omitempty"`
	LastError  string `json:"lastError,omitempty"`
}

type topic struct {
	name                  string
	attrs                 TopicAttributes
	createdAt, modifiedAt int64
	subs                  map[string]*subscriptionState
	published             []*Published
}

type subscriptionState struct {
	SubscriptionAttributes
	createdAt, modifiedAt int64
}

// topicState is the Service's topics. Its zero value is ready: it is a
// field of Service so the queue code needs no change.
type topicState struct {
	mu     sync.Mutex
	topics map[string]*topic

	keyOnce sync.Once
	key     *rsa.PrivateKey
	certPEM []byte
	keyErr  error

	// retryScale shortens the NotifyStrategy waits (tests); 0 means 1.
	retryScale float64
	client     *http.Client
	// inFlight counts pushes not yet ended (a counter, not a WaitGroup:
	// publishes may start while a test waits).
	inFlight int
}

// SetNotifyRetryScale multiplies every push retry wait by f (0 < f <= 1
// shortens them for tests).
func (s *Service) SetNotifyRetryScale(f float64) {
	s.topics.mu.Lock()
	s.topics.retryScale = f
	s.topics.mu.Unlock()
}

// signer returns the emulator's push signing key and certificate, made on
// first use (a self-signed RSA 2048 certificate).
func (s *Service) signer() (*rsa.PrivateKey, []byte, error) {
	t := &s.topics
	t.keyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.keyErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "localcloud MNS notification signer"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.keyErr = err
			return
		}
		t.key, t.certPEM = key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	})
	return t.key, t.certPEM, t.keyErr
}

// SigningCertificate returns the PEM certificate that verifies pushes.
func (s *Service) SigningCertificate() ([]byte, error) {
	_, pemBytes, err := s.signer()
	return pemBytes, err
}

func errTopicNotExist() *Error {
	return newError(http.StatusNotFound, CodeTopicNotExist, "The topic you provided is not exist.")
}

func errSubscriptionNotExist() *Error {
	return newError(http.StatusNotFound, CodeSubscriptionNotExist, "The subscription you provided is not exist.")
}

// validTopicName applies the queue naming rule (letters, digits, '-', not
// first, at most 256): the SDK checks topic names with the same rule.
func validTopicName(name string) *Error {
	if name == "" || len(name) > 256 {
		return newError(http.StatusBadRequest, CodeInvalidArgument, "The topic or subscription name %q is invalid.", name)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' && i > 0
		if !ok {
			return newError(http.StatusBadRequest, CodeInvalidArgument, "The topic or subscription name %q is invalid.", name)
		}
	}
	return nil
}

// CreateTopic creates a topic. It answers created=false when an identical
// topic exists and TopicAlreadyExist when one with other attributes does.
func (s *Service) CreateTopic(name string, attrs TopicAttributes) (created bool, err error) {
	if e := validTopicName(name); e != nil {
		return false, e
	}
	if attrs.MaximumMessageSize == 0 {
		attrs.MaximumMessageSize = 65536
	}
	if attrs.MaximumMessageSize < 1024 || attrs.MaximumMessageSize > 65536 {
		return false, errInvalidArgument("MaximumMessageSize %d: want 1024 to 65536.", attrs.MaximumMessageSize)
	}
	t := &s.topics
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.topics == nil {
		t.topics = map[string]*topic{}
	}
	if old := t.topics[name]; old != nil {
		if old.attrs == attrs {
			return false, nil
		}
		return false, newError(http.StatusConflict, CodeTopicAlreadyExist, "The topic %s already exists with other attributes.", name)
	}
	now := s.nowMS()
	t.topics[name] = &topic{name: name, attrs: attrs, createdAt: now, modifiedAt: now, subs: map[string]*subscriptionState{}}
	return true, nil
}

// DeleteTopic removes a topic and its subscriptions (absent is success, as
// for queues).
func (s *Service) DeleteTopic(name string) {
	s.topics.mu.Lock()
	delete(s.topics.topics, name)
	s.topics.mu.Unlock()
}

// lockedTopic returns the topic; the caller holds s.topics.mu.
func (s *Service) lockedTopic(name string) (*topic, *Error) {
	tp := s.topics.topics[name]
	if tp == nil {
		return nil, errTopicNotExist()
	}
	return tp, nil
}

// Subscribe adds a subscription; an identical one answers created=false.
func (s *Service) Subscribe(topicName string, a SubscriptionAttributes) (created bool, err error) {
	if e := validTopicName(a.Name); e != nil {
		return false, e
	}
	if a.NotifyStrategy == "" {
		a.NotifyStrategy = StrategyBackoff
	}
	if a.NotifyContentFormat == "" {
		a.NotifyContentFormat = FormatXML
	}
	switch a.NotifyStrategy {
	case StrategyBackoff, StrategyExponential:
	default:
		return false, errInvalidArgument("NotifyStrategy %q: want %s or %s.", a.NotifyStrategy, StrategyBackoff, StrategyExponential)
	}
	switch a.NotifyContentFormat {
	case FormatXML, FormatSimplified, FormatJSON:
	default:
		return false, errInvalidArgument("NotifyContentFormat %q: want XML, SIMPLIFIED or JSON.", a.NotifyContentFormat)
	}
	if a.Endpoint == "" {
		return false, errInvalidArgument("The Endpoint of a subscription is required.")
	}
	if len(a.FilterTag) > 16 {
		return false, errInvalidArgument("FilterTag %q: at most 16 characters.", a.FilterTag)
	}
	s.topics.mu.Lock()
	defer s.topics.mu.Unlock()
	tp, e := s.lockedTopic(topicName)
	if e != nil {
		return false, e
	}
	if old := tp.subs[a.Name]; old != nil {
		if old.SubscriptionAttributes == a {
			return false, nil
		}
		return false, newError(http.StatusConflict, CodeSubscriptionAlreadyExist, "The subscription %s already exists with other attributes.", a.Name)
	}
	now := s.nowMS()
	tp.subs[a.Name] = &subscriptionState{SubscriptionAttributes: a, createdAt: now, modifiedAt: now}
	return true, nil
}

// Unsubscribe removes a subscription (absent is success).
func (s *Service) Unsubscribe(topicName, sub string) error {
	s.topics.mu.Lock()
	defer s.topics.mu.Unlock()
	tp, e := s.lockedTopic(topicName)
	if e != nil {
		return e
	}
	delete(tp.subs, sub)
	return nil
}

// Publish publishes body to a topic and starts pushing it to the matching
// HTTP subscriptions. resolveCertURL is the URL of the signing certificate
// (the emulator's own address as the publisher reached it).
func (s *Service) Publish(topicName, body, tag, certURL string) (*Published, error) {
	s.topics.mu.Lock()
	tp, e := s.lockedTopic(topicName)
	if e != nil {
		s.topics.mu.Unlock()
		return nil, e
	}
	if body == "" || len(body) > tp.attrs.MaximumMessageSize {
		s.topics.mu.Unlock()
		return nil, errInvalidArgument("The message body must be 1 to %d bytes.", tp.attrs.MaximumMessageSize)
	}
	p := &Published{ID: strings.ToUpper(core.NewHexID(16)), Topic: topicName, Body: body, Tag: tag, PublishTime: s.env.Clock.Now()}
	var pushes []*subscriptionState
	names := make([]string, 0, len(tp.subs))
	for n := range tp.subs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sub := tp.subs[n]
		// FilterTag: a subscription with a tag gets only messages with that
		// exact tag; one without gets every message.
		if sub.FilterTag != "" && sub.FilterTag != tag {
			continue
		}
		d := Delivery{Subscription: sub.Name, Endpoint: sub.Endpoint, State: "pending"}
		if !isHTTPEndpoint(sub.Endpoint) {
			d.State = "skipped"
		} else {
			pushes = append(pushes, sub)
		}
		p.Deliveries = append(p.Deliveries, d)
	}
	tp.published = append(tp.published, p)
	out := s.copyPublished(p) // under the lock: pushes update p's deliveries
	s.topics.mu.Unlock()
	for _, sub := range pushes {
		s.startPush(tp, p, sub.SubscriptionAttributes, certURL)
	}
	return out, nil
}

func isHTTPEndpoint(ep string) bool {
	return strings.HasPrefix(ep, "http://") || strings.HasPrefix(ep, "https://")
}

// copyPublished copies p; the caller holds s.topics.mu.
func (s *Service) copyPublished(p *Published) *Published {
	c := *p
	c.Deliveries = append([]Delivery(nil), p.Deliveries...)
	return &c
}

// PublishedMessages returns copies of what was published to a topic, oldest
// first, with the state of each delivery.
func (s *Service) PublishedMessages(topicName string) []Published {
	s.topics.mu.Lock()
	defer s.topics.mu.Unlock()
	tp := s.topics.topics[topicName]
	if tp == nil {
		return nil
	}
	out := make([]Published, len(tp.published))
	for i, p := range tp.published {
		out[i] = *s.copyPublished(p)
	}
	return out
}

// WaitPushes waits until every push in flight has ended (delivered or out
// of retries).
func (s *Service) WaitPushes() {
	for {
		s.topics.mu.Lock()
		n := s.topics.inFlight
		s.topics.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

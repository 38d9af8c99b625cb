package mnsqueue

import (
	"context"
	"unicode/utf8"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// Topic is one MNS topic: sgpilot publishes run reports that need a person
// to it, and operators subscribe (email, an HTTP endpoint such as a chat
// robot, a queue). Safe for concurrent use.
type Topic struct {
	name   string
	client ali_mns.MNSClient
	mgr    ali_mns.AliTopicManager
	policy retry.Policy
}

// NewTopic returns the topic named topic at cfg's endpoint (cfg.Queue is
// ignored). Like New it validates everything first, never panics and does
// not contact MNS. Topic names follow the queue naming rule.
func NewTopic(cfg Config, topic string) (*Topic, error) {
	cfg.Queue = topic
	_, client, policy, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Topic{name: topic, client: client, mgr: ali_mns.NewMNSTopicManager(client), policy: policy}, nil
}

// Name returns the topic name.
func (t *Topic) Name() string { return t.name }

// maxTagBytes is the longest MessageTag MNS accepts (16 characters,
// unconfirmed: the topic API reference gives it for FilterTag).
const maxTagBytes = 16

// Publish publishes body with tag (may be empty) to the topic. Throttled
// and transient failures are retried; an over-long body is KindInvalid.
func (t *Topic) Publish(ctx context.Context, tag, body string) error {
	op := "mns PublishMessage to topic " + t.name
	if err := checkBody(body); err != nil {
		return domain.Wrap(domain.KindInvalid, op, "", err)
	}
	if len(tag) > maxTagBytes || !utf8.ValidString(tag) {
		return domain.Errorf(domain.KindInvalid, op, "", "tag %q: at most %d bytes of UTF-8", tag, maxTagBytes)
	}
	req := ali_mns.MessagePublishRequest{MessageBody: body, MessageTag: tag}
	return t.retry(ctx, op, func(ctx context.Context) error {
		_, err := call(ctx, func() (ali_mns.MessageSendResponse, error) {
			// A fresh SDK topic per call: its QPS monitor is not safe for
			// concurrent use (see Queue.sdk).
			return ali_mns.NewMNSTopic(t.name, t.client).PublishMessage(req)
		})
		return classify(op, err)
	})
}

// EnsureTopic creates the topic if it does not exist (setup, demo, tests).
func (t *Topic) EnsureTopic(ctx context.Context) error {
	op := "mns CreateTopic " + t.name
	return t.retry(ctx, op, func(ctx context.Context) error {
		_, err := call(ctx, func() (struct{}, error) {
			return struct{}{}, t.mgr.CreateSimpleTopic(t.name)
		})
		if err == nil || ali_mns.ERR_MNS_TOPIC_ALREADY_EXIST_AND_HAVE_SAME_ATTR.IsEqual(err) {
			return nil
		}
		return classify(op, err)
	})
}

// Subscription is what Subscribe registers.
type Subscription struct {
	Name     string
	Endpoint string // http(s)://…, mail:directmail:…, acs:mns:…:queues/…
	// FilterTag delivers only messages with this tag ("" = all).
	FilterTag string
	// Strategy is "BACKOFF_RETRY" (default) or "EXPONENTIAL_DECAY_RETRY".
	Strategy string
	// Format is "XML" (default), "SIMPLIFIED" or "JSON".
	Format string
}

// Subscribe registers s on the topic; an identical existing subscription
// is success.
func (t *Topic) Subscribe(ctx context.Context, s Subscription) error {
	op := "mns Subscribe " + s.Name + " to topic " + t.name
	req := ali_mns.MessageSubsribeRequest{Endpoint: s.Endpoint, FilterTag: s.FilterTag,
		NotifyStrategy: ali_mns.NotifyStrategyType(s.Strategy), NotifyContentFormat: ali_mns.NotifyContentFormatType(s.Format)}
	return t.retry(ctx, op, func(ctx context.Context) error {
		_, err := call(ctx, func() (struct{}, error) {
			return struct{}{}, ali_mns.NewMNSTopic(t.name, t.client).Subscribe(s.Name, req)
		})
		if err == nil || ali_mns.ERR_MNS_SUBSCRIPTION_ALREADY_EXIST_AND_HAVE_SAME_ATTR.IsEqual(err) {
			return nil
		}
		return classify(op, err)
	})
}

func (t *Topic) retry(ctx context.Context, op string, f func(context.Context) error) error {
	return classify(op, retry.Do(ctx, t.policy, domain.IsRetryable, f))
}

package mnsemu

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Defaults for Options.
const (
	// DefaultRegion is the region the emulator claims to serve; it appears in
	// HostId and QueueURL values.
	DefaultRegion = "cn-hangzhou"
	// DefaultMaxLongPoll caps the wall time one receive may wait. The service
	// allows 30 s; tests may lower it to keep runs short.
	DefaultMaxLongPoll = maxPollingWait * time.Second
	// DefaultMaxRequestBytes bounds a request body: 16 messages of 64 KiB
	// plus XML overhead.
	DefaultMaxRequestBytes = 2 << 20
	// DefaultDateSkew is how far a request's Date may be from wall time.
	DefaultDateSkew = defaultDateSkew
)

// Options tune a Service. The zero value means every default.
type Options struct {
	// Region is the region ID used in HostId and QueueURL (DefaultRegion).
	Region string
	// MaxLongPoll caps the wall-time wait of a receive (DefaultMaxLongPoll).
	MaxLongPoll time.Duration
	// MaxRequestBytes bounds request bodies (DefaultMaxRequestBytes).
	MaxRequestBytes int64
	// DateSkew is the tolerated distance between the Date header and
	// WallNow before TimeExpired (DefaultDateSkew).
	DateSkew time.Duration
	// WallNow is the wall clock the Date header is checked against
	// (time.Now). See assumptions.go for why it is not the emulated clock.
	WallNow func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.MaxLongPoll <= 0 {
		o.MaxLongPoll = DefaultMaxLongPoll
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.DateSkew <= 0 {
		o.DateSkew = DefaultDateSkew
	}
	if o.WallNow == nil {
		o.WallNow = time.Now
	}
	return o
}

// Service is the MNS queue emulator of one account. It serves the queue REST
// API over HTTP (ServeHTTP) and a Go API for other emulators. Safe for
// concurrent use.
type Service struct {
	env    *core.Env
	opts   Options
	hostID string

	mu     sync.RWMutex
	queues map[string]*queue
	topics topicState // topics.go

	closeOnce sync.Once
	closed    chan struct{}

	outage outages // queues that are down (SetQueueDown)
}

// New returns an empty MNS service for env's account.
func New(env *core.Env, opts Options) *Service {
	opts = opts.withDefaults()
	return &Service{
		env:    env,
		opts:   opts,
		hostID: "http://" + env.AccountID + ".mns." + opts.Region + ".aliyuncs.com",
		queues: map[string]*queue{},
		closed: make(chan struct{}),
	}
}

// Close ends every pending long poll (they answer MessageNotExist). The
// service still answers requests afterwards, without waiting.
func (s *Service) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
}

// Message is a message as a receive returns it. Zero times mean "not yet"
// (FirstDequeueTime before the first receive).
type Message struct {
	ID               string    `json:"id"`
	Body             string    `json:"body"`
	BodyMD5          string    `json:"bodyMD5"`
	ReceiptHandle    string    `json:"receiptHandle,omitempty"`
	DequeueCount     int       `json:"dequeueCount"`
	EnqueueTime      time.Time `json:"enqueueTime"`
	FirstDequeueTime time.Time `json:"firstDequeueTime"`
	NextVisibleTime  time.Time `json:"nextVisibleTime"`
	Priority         int       `json:"priority"`
}

func (s *Service) nowMS() int64 { return s.env.Clock.Now().UnixMilli() }

func (s *Service) queue(name string) (*queue, *Error) {
	s.mu.RLock()
	q := s.queues[name]
	s.mu.RUnlock()
	if q == nil {
		return nil, errQueueNotExist()
	}
	return q, nil
}

// lockQueue returns queue name locked, failing with QueueNotExist if it does
// not exist or was deleted between the lookup and the lock. The caller
// unlocks q.mu.
func (s *Service) lockQueue(name string) (*queue, *Error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errQueueNotExist()
	}
	return q, nil
}

// createQueue creates name with attrs (already validated). created is false
// when an identical queue already existed.
func (s *Service) createQueue(name string, attrs QueueAttributes) (created bool, err *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[name]; q != nil {
		q.mu.Lock()
		same := q.attrs == attrs
		q.mu.Unlock()
		if !same {
			return false, errQueueAlreadyExist()
		}
		return false, nil
	}
	s.queues[name] = newQueue(name, attrs, s.nowMS())
	return true, nil
}

func (s *Service) deleteQueue(name string) *Error {
	s.mu.Lock()
	q := s.queues[name]
	delete(s.queues, name)
	s.mu.Unlock()
	if q == nil {
		return errQueueNotExist()
	}
	q.mu.Lock()
	q.deleted = true
	q.signalLocked()
	q.mu.Unlock()
	return nil
}

// sortedQueues returns the queues whose name has prefix, by name.
func (s *Service) sortedQueues(prefix string) []*queue {
	s.mu.RLock()
	out := make([]*queue, 0, len(s.queues))
	for name, q := range s.queues {
		if len(name) >= len(prefix) && name[:len(prefix)] == prefix {
			out = append(out, q)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// receive takes up to n messages from q, waiting up to wait (wall time) for
// one to become visible. The wait ends early when a message is sent, a
// visibility changes, the emulated clock jumps, ctx ends or the service
// closes. Nothing received after the wait is MessageNotExist.
func (s *Service) receive(ctx context.Context, q *queue, n int, wait time.Duration, peek bool) ([]Message, error) {
	wait = min(wait, s.opts.MaxLongPoll)
	deadline := time.Now().Add(wait)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		clockJump := s.env.Clock.Changed()
		now := s.nowMS()
		q.mu.Lock()
		if q.deleted {
			q.mu.Unlock()
			return nil, errQueueNotExist()
		}
		q.maintainLocked(now)
		var msgs []Message
		if peek {
			msgs = q.peekLocked(n)
		} else {
			msgs = q.receiveLocked(n, now)
		}
		avail, next := q.avail, q.nextVisibleLocked()
		q.mu.Unlock()
		if len(msgs) > 0 {
			return msgs, nil
		}

		sleep := time.Until(deadline)
		if sleep <= 0 {
			return nil, errMessageNotExist()
		}
		if next > 0 {
			due := max(time.Duration(next-now)*time.Millisecond, time.Millisecond)
			sleep = min(sleep, due)
		}
		if timer == nil {
			timer = time.NewTimer(sleep)
		} else {
			timer.Reset(sleep)
		}
		select {
		case <-avail:
		case <-clockJump:
		case <-timer.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.closed:
			return nil, errMessageNotExist()
		}
	}
}

// ---- Go API for other emulators -------------------------------------------

// CreateQueue creates a queue. Zero MaximumMessageSize, MessageRetentionPeriod
// and VisibilityTimeout take the defaults (as the SDK's omitted elements do).
// Creating a queue that exists with the same attributes succeeds (the wire's
// 204); with different attributes it fails with QueueAlreadyExist.
func (s *Service) CreateQueue(name string, attrs QueueAttributes) error {
	if err := validateQueueName(name); err != nil {
		return err
	}
	def := DefaultQueueAttributes()
	if attrs.MaximumMessageSize == 0 {
		attrs.MaximumMessageSize = def.MaximumMessageSize
	}
	if attrs.MessageRetentionPeriod == 0 {
		attrs.MessageRetentionPeriod = def.MessageRetentionPeriod
	}
	if attrs.VisibilityTimeout == 0 {
		attrs.VisibilityTimeout = def.VisibilityTimeout
	}
	if err := attrs.validate(); err != nil {
		return err
	}
	if _, err := s.createQueue(name, attrs); err != nil {
		return err
	}
	return nil
}

// Send enqueues body on queue. A negative delay means the queue's
// DelaySeconds; other delays are rounded up to whole seconds. priority 0
// means the default 8; otherwise 1 (highest) to 16. It returns the message
// ID. Errors: QueueNotExist, InvalidArgument.
func (s *Service) Send(queueName, body string, delay time.Duration, priority int) (string, error) {
	var d *int64
	if delay >= 0 {
		secs := int64((delay + time.Second - 1) / time.Second)
		d = &secs
	}
	if s.refuseSend(queueName) {
		return "", errInternal()
	}
	now := s.nowMS()
	q, err := s.lockQueue(queueName)
	if err != nil {
		return "", err
	}
	defer q.mu.Unlock()
	spec, err := q.checkSendLocked(body, d, int64(priority))
	if err != nil {
		return "", err
	}
	q.maintainLocked(now)
	return q.enqueueLocked(spec, now).id, nil
}

// Receive is BatchReceiveMessage: it takes up to max (1..16) messages,
// waiting up to wait (0..30 s) for the first. Each returned message has a
// new receipt handle and an incremented DequeueCount and stays invisible for
// the queue's VisibilityTimeout. When nothing arrives it returns an *Error
// with code MessageNotExist; when ctx ends first, ctx.Err().
func (s *Service) Receive(ctx context.Context, queueName string, max int, wait time.Duration) ([]Message, error) {
	if max < 1 || max > maxBatch {
		return nil, errRange("numOfMessages", 1, maxBatch)
	}
	if wait < 0 || wait > maxPollingWait*time.Second {
		return nil, errRange("waitseconds", 0, maxPollingWait)
	}
	q, err := s.queue(queueName)
	if err != nil {
		return nil, err
	}
	return s.receive(ctx, q, max, wait, false)
}

// Delete deletes the message whose newest receipt handle is receiptHandle.
// Errors: QueueNotExist, ReceiptHandleError (stale, unknown or expired).
func (s *Service) Delete(queueName, receiptHandle string) error {
	now := s.nowMS()
	q, err := s.lockQueue(queueName)
	if err != nil {
		return err
	}
	defer q.mu.Unlock()
	q.maintainLocked(now)
	if err := q.deleteLocked(receiptHandle, now); err != nil {
		return err
	}
	return nil
}

// ChangeVisibility makes the message invisible for d from now (rounded up to
// whole seconds, 1..43200 s) and returns its new receipt handle; the old one
// becomes stale. Errors: QueueNotExist, ReceiptHandleError, InvalidArgument.
func (s *Service) ChangeVisibility(queueName, receiptHandle string, d time.Duration) (string, error) {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < minVisibilityTimeout || secs > maxVisibilityTimeout {
		return "", errRange("VisibilityTimeout", minVisibilityTimeout, maxVisibilityTimeout)
	}
	m, err := s.changeVisibility(queueName, receiptHandle, secs)
	if err != nil {
		return "", err
	}
	return m.ReceiptHandle, nil
}

func (s *Service) changeVisibility(queueName, receiptHandle string, secs int64) (Message, *Error) {
	now := s.nowMS()
	q, err := s.lockQueue(queueName)
	if err != nil {
		return Message{}, err
	}
	defer q.mu.Unlock()
	q.maintainLocked(now)
	return q.changeVisibilityLocked(receiptHandle, secs, now)
}

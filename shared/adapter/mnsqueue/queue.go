package mnsqueue

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/sgpilot/sgpilot/shared/core/batching"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
)

// Queue is one MNS queue. It satisfies the Queue contract of
// docs/CONTRACTS.md. Safe for concurrent use.
type Queue struct {
	name    string
	account string
	region  string
	client  ali_mns.MNSClient
	mgr     ali_mns.AliQueueManager
	policy  retry.Policy
}

// newClient validates cfg and builds the SDK client and the retry policy
// that queues and topics share.
func newClient(cfg Config) (endpoint, ali_mns.MNSClient, retry.Policy, error) {
	ep, err := validate(cfg)
	if err != nil {
		return endpoint{}, nil, retry.Policy{}, err
	}
	timeout := cfg.RequestTimeout
	if timeout == 0 {
		timeout = DefaultRequestTimeout
	}
	// NewAliMNSClientWithConfig with Token set is what
	// NewAliMNSClientWithToken does (an "sts" credential when the token is
	// non-empty, a plain AccessKey otherwise), plus a settable timeout.
	client := ali_mns.NewAliMNSClientWithConfig(ali_mns.AliMNSClientConfig{
		EndPoint:        ep.url,
		AccessKeyId:     cfg.Credentials.AccessKeyID,
		AccessKeySecret: cfg.Credentials.AccessKeySecret,
		Token:           cfg.Credentials.SecurityToken,
		TimeoutSecond:   int64((timeout + time.Second - 1) / time.Second),
		MaxConnsPerHost: ali_mns.DefaultMaxConnsPerHost,
	})
	if cfg.DialAddress != "" {
		client.SetTransport(newDialTransport(cfg.DialAddress, ep.tls, timeout))
	}
	policy := cfg.Retry
	if policy.MaxAttempts == 0 {
		d := retry.Default()
		d.Sleep, d.Now, d.Jitter = policy.Sleep, policy.Now, policy.Jitter
		policy = d
	}
	return ep, client, policy, nil
}

// New validates cfg and returns a Queue. It never panics: the endpoint is
// checked the way the SDK reads it before the SDK sees it. New does not
// contact MNS.
func New(cfg Config) (*Queue, error) {
	ep, client, policy, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Queue{
		name:    cfg.Queue,
		account: ep.account,
		region:  ep.region,
		client:  client,
		mgr:     ali_mns.NewMNSQueueManager(client),
		policy:  policy,
	}, nil
}

// sdk returns a fresh SDK queue object for one call. The SDK's queue keeps
// a client-side QPS monitor whose counters are read and written without
// synchronisation (a data race under concurrent calls, seen with -race), so
// calls share only the client, which is safe. The monitor's 2000-QPS
// governor is lost; MNS's own throttling (QpsLimitExceeded) is handled.
func (q *Queue) sdk() ali_mns.AliMNSQueue { return ali_mns.NewMNSQueue(q.name, q.client) }

// Name returns the queue name.
func (q *Queue) Name() string { return q.name }

// Region returns the region the endpoint names (without -internal).
func (q *Queue) Region() string { return q.region }

// SendTasks encodes tasks and sends them in batches of at most MaxBatch
// messages. Every task is encoded first: if any is invalid, nothing is sent
// and the error (KindInvalid) names the bad tasks. A batch failure for some
// messages returns an error naming the failed task IDs; tasks already sent
// stay sent. Throttled and transient failures are retried (the failed
// messages only) before they are reported.
func (q *Queue) SendTasks(ctx context.Context, tasks []domain.Task) error {
	op := "mns BatchSendMessage to " + q.name
	items := make([]sendItem, 0, len(tasks))
	var bad []error
	for _, t := range tasks {
		body, err := domain.EncodeTask(t)
		if err == nil {
			err = checkBody(body)
		}
		if err != nil {
			bad = append(bad, &domain.Error{Kind: domain.KindInvalid, Op: "task " + t.ID, Err: err})
			continue
		}
		items = append(items, sendItem{id: "task " + t.ID, body: body})
	}
	if len(bad) > 0 {
		return batching.Join(op, "tasks invalid, none sent", len(bad), len(tasks), bad)
	}
	return q.send(ctx, op, "tasks", items, 0)
}

// SendBodies sends raw message bodies (dead letters, re-enqueues) with the
// given delay (rounded up to whole seconds, at most MaxDelay), in batches
// of at most MaxBatch. Failures are reported like SendTasks', naming the
// failed bodies by their index in bodies.
func (q *Queue) SendBodies(ctx context.Context, bodies []string, delay time.Duration) error {
	op := "mns BatchSendMessage to " + q.name
	if delay < 0 || delay > MaxDelay {
		return domain.Errorf(domain.KindInvalid, op, "", "delay %s outside 0..%s", delay, MaxDelay)
	}
	items := make([]sendItem, 0, len(bodies))
	var bad []error
	for i, b := range bodies {
		id := fmt.Sprintf("body #%d", i)
		if err := checkBody(b); err != nil {
			bad = append(bad, &domain.Error{Kind: domain.KindInvalid, Op: id, Err: err})
			continue
		}
		items = append(items, sendItem{id: id, body: b})
	}
	if len(bad) > 0 {
		return batching.Join(op, "bodies invalid, none sent", len(bad), len(bodies), bad)
	}
	return q.send(ctx, op, "bodies", items, ceilSeconds(delay))
}

// checkBody refuses what MNS cannot carry faithfully: an empty body, one
// over MaxBodyBytes, or text that is not valid UTF-8 XML character data
// (encoding/xml would silently replace such characters).
func checkBody(body string) error {
	switch {
	case body == "":
		return errors.New("empty message body")
	case len(body) > MaxBodyBytes:
		return fmt.Errorf("message body is %d bytes, over the MNS limit of %d", len(body), MaxBodyBytes)
	case !utf8.ValidString(body):
		return errors.New("message body is not valid UTF-8")
	}
	for _, r := range body {
		if !xmlChar(r) {
			return fmt.Errorf("message body contains %U, which XML cannot carry", r)
		}
	}
	return nil
}

// xmlChar reports whether r is allowed in XML 1.0 character data.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

type sendItem struct {
	id   string // how errors name it: "task <ID>" or "body #<i>"
	body string
}

// itemFailure is why one item of a batch failed.
type itemFailure struct {
	id  string
	err error
}

// send cuts items into batches (≤ MaxBatch messages, ≤ MaxBatchBytes) and
// sends them one after the other. A batch that still fails as a whole
// after its retries (queue gone, access denied, MNS down, ctx over) stops
// the run: the rest is reported as not sent.
func (q *Queue) send(ctx context.Context, op, noun string, items []sendItem, delaySec int64) error {
	var failed []itemFailure
	for start := 0; start < len(items); {
		end, size := start, 0
		for end < len(items) && end-start < MaxBatch && (end == start || size+len(items[end].body) <= MaxBatchBytes) {
			size += len(items[end].body)
			end++
		}
		batchFailed, whole := q.sendBatch(ctx, op, items[start:end], delaySec)
		failed = append(failed, batchFailed...)
		start = end
		if whole != nil && start < len(items) {
			for _, it := range items[start:] {
				failed = append(failed, itemFailure{it.id, batching.ItemError(it.id, whole, "not attempted after an earlier batch failed")})
			}
			break
		}
	}
	if len(failed) == 0 {
		return nil
	}
	errs := make([]error, len(failed))
	for i, f := range failed {
		errs[i] = f.err
	}
	return batching.Join(op, noun+" not sent", len(failed), len(items), errs)
}

// sendBatch sends one batch, retrying throttled and transient failures of
// the whole call or of single messages (only those are resent). It returns
// the items that finally failed, and stop when the rest of the run should
// not be attempted (the last attempt failed as a whole, or ctx ended).
func (q *Queue) sendBatch(ctx context.Context, op string, batch []sendItem, delaySec int64) (failed []itemFailure, stop error) {
	pending := batch
	itemErr := map[string]error{} // per-message errors of the last attempt
	err := q.retry(ctx, op, func(ctx context.Context) error {
		clear(itemErr)
		reqs := make([]ali_mns.MessageSendRequest, len(pending))
		for i, it := range pending {
			reqs[i] = ali_mns.MessageSendRequest{MessageBody: it.body, DelaySeconds: delaySec}
		}
		resp, err := call(ctx, func() (ali_mns.BatchMessageSendResponse, error) {
			return q.sdk().BatchSendMessage(reqs...)
		})
		switch {
		case err == nil:
			pending = nil
			return nil
		case !ali_mns.ERR_MNS_BATCH_OP_FAIL.IsEqual(err):
			return classify(op, err)
		case len(resp.Messages) != len(pending):
			// Without one entry per message nobody knows which were sent.
			return domain.Errorf(domain.KindInternal, op, codeBatchPartial,
				"partial-failure answer has %d entries for %d messages", len(resp.Messages), len(pending))
		}
		var again []sendItem
		var first error
		for i, e := range resp.Messages {
			if e.ErrorCode == "" {
				continue
			}
			it := pending[i]
			ierr := &domain.Error{Kind: kindOfCode(e.ErrorCode), Op: it.id, Code: e.ErrorCode, Err: errors.New(e.ErrorMessage)}
			if !domain.IsRetryable(ierr) {
				failed = append(failed, itemFailure{it.id, ierr})
				continue
			}
			again = append(again, it)
			itemErr[it.id] = ierr
			if first == nil {
				first = ierr
			}
		}
		pending = again
		if len(pending) == 0 {
			return nil
		}
		return &domain.Error{Kind: domain.KindOf(first), Op: op, Code: domain.CodeOf(first),
			Err: fmt.Errorf("%d messages of the batch failed", len(pending))}
	})
	if err == nil {
		return failed, nil
	}
	for _, it := range pending {
		ierr, ok := itemErr[it.id]
		if !ok {
			ierr = batching.ItemError(it.id, err, "")
		}
		failed = append(failed, itemFailure{it.id, ierr})
	}
	if len(itemErr) == 0 || ctx.Err() != nil {
		return failed, err
	}
	return failed, nil
}

// Receive takes up to maxMsgs (1..MaxBatch) messages, waiting up to wait
// (0..MaxWait, rounded up to whole seconds, and shortened so the poll ends
// before ctx's deadline) for the first to arrive. An empty queue is nil,
// nil. Each delivery carries a fresh receipt handle; the message stays
// invisible for the queue's visibility timeout.
//
// When ctx ends during a long poll, Receive returns at once; messages MNS
// hands out after that are not lost but stay invisible until their
// visibility timeout passes.
func (q *Queue) Receive(ctx context.Context, maxMsgs int, wait time.Duration) ([]workqueue.Delivery, error) {
	op := "mns BatchReceiveMessage from " + q.name
	if maxMsgs < 1 || maxMsgs > MaxBatch {
		return nil, domain.Errorf(domain.KindInvalid, op, "", "max %d outside 1..%d", maxMsgs, MaxBatch)
	}
	if wait < 0 || wait > MaxWait {
		return nil, domain.Errorf(domain.KindInvalid, op, "", "wait %s outside 0..%s", wait, MaxWait)
	}
	var out []workqueue.Delivery
	err := q.retry(ctx, op, func(ctx context.Context) error {
		secs := ceilSeconds(wait)
		if dl, ok := ctx.Deadline(); ok {
			// Leave a second for the answer to travel back.
			left := int64(time.Until(dl)/time.Second) - 1
			secs = max(0, min(secs, left))
		}
		resp, err := call(ctx, func() (ali_mns.BatchMessageReceiveResponse, error) {
			respCh := make(chan ali_mns.BatchMessageReceiveResponse, 1)
			errCh := make(chan error, 1)
			// With no waitseconds argument the SDK does one short poll; a
			// waitseconds of 0 would make it send nothing at all.
			if secs > 0 {
				q.sdk().BatchReceiveMessage(respCh, errCh, int32(maxMsgs), secs)
			} else {
				q.sdk().BatchReceiveMessage(respCh, errCh, int32(maxMsgs))
			}
			select {
			case r := <-respCh:
				return r, nil
			case err := <-errCh:
				return ali_mns.BatchMessageReceiveResponse{}, err
			default:
				return ali_mns.BatchMessageReceiveResponse{}, errors.New("mns sdk returned without an answer")
			}
		})
		switch {
		case err == nil:
		case ali_mns.ERR_MNS_MESSAGE_NOT_EXIST.IsEqual(err):
			return nil
		default:
			return classify(op, err)
		}
		out = make([]workqueue.Delivery, 0, len(resp.Messages))
		for _, m := range resp.Messages {
			out = append(out, workqueue.Delivery{
				MessageID:     m.MessageId,
				Body:          m.MessageBody,
				ReceiptHandle: m.ReceiptHandle,
				DequeueCount:  int(m.DequeueCount),
				EnqueueTime:   time.UnixMilli(m.EnqueueTime).UTC(),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Delete removes the messages of the given receipt handles, in batches of
// MaxBatch (duplicates are sent once). A stale or expired handle
// (ReceiptHandleError, KindConflict: the message was received again, or
// its visibility ran out, and will be delivered again) fails only itself:
// the others are deleted, and the returned error wraps one *domain.Error
// per failed handle (Op "receipt handle <h>").
func (q *Queue) Delete(ctx context.Context, receiptHandles []string) error {
	op := "mns BatchDeleteMessage on " + q.name
	handles, err := batching.UniqueNonEmpty(op, "receipt handle", receiptHandles)
	if err != nil {
		return err
	}
	failed := batching.Do(handles, MaxBatch, func(h string) string { return "receipt handle " + h },
		func(batch []string) ([]error, error) { return q.deleteBatch(ctx, op, batch) })
	if len(failed) == 0 {
		return nil
	}
	return batching.Join(op, "receipt handles not deleted", len(failed), len(handles), failed)
}

// deleteBatch deletes one batch, retrying throttled and transient
// failures (whole call or single handles).
func (q *Queue) deleteBatch(ctx context.Context, op string, batch []string) (failed []error, stop error) {
	pending := batch
	itemErr := map[string]error{}
	err := q.retry(ctx, op, func(ctx context.Context) error {
		clear(itemErr)
		resp, err := call(ctx, func() (ali_mns.BatchMessageDeleteErrorResponse, error) {
			return q.sdk().BatchDeleteMessage(pending...)
		})
		switch {
		case err == nil:
			pending = nil
			return nil
		case !ali_mns.ERR_MNS_BATCH_OP_FAIL.IsEqual(err):
			return classify(op, err)
		}
		inBatch := map[string]bool{}
		for _, h := range pending {
			inBatch[h] = true
		}
		var again []string
		var first error
		for _, e := range resp.FailedMessages {
			h := e.ReceiptHandle
			if !inBatch[h] {
				// An entry we cannot attribute: say so rather than guess.
				failed = append(failed, domain.Errorf(kindOfCode(e.ErrorCode), "receipt handle "+h, e.ErrorCode,
					"unattributed failure: %s", e.ErrorMessage))
				continue
			}
			ierr := &domain.Error{Kind: kindOfCode(e.ErrorCode), Op: "receipt handle " + h, Code: e.ErrorCode, Err: errors.New(e.ErrorMessage)}
			if !domain.IsRetryable(ierr) {
				failed = append(failed, ierr)
				continue
			}
			again = append(again, h)
			itemErr[h] = ierr
			if first == nil {
				first = ierr
			}
		}
		pending = again
		if len(pending) == 0 {
			return nil
		}
		return &domain.Error{Kind: domain.KindOf(first), Op: op, Code: domain.CodeOf(first),
			Err: fmt.Errorf("%d handles of the batch failed", len(pending))}
	})
	if err == nil {
		return failed, nil
	}
	for _, h := range pending {
		ierr, ok := itemErr[h]
		if !ok {
			ierr = batching.ItemError("receipt handle "+h, err, "")
		}
		failed = append(failed, ierr)
	}
	if len(itemErr) == 0 || ctx.Err() != nil {
		return failed, err
	}
	return failed, nil
}

// ChangeVisibility makes the message of receiptHandle invisible for d from
// now (rounded up to whole seconds, MinVisibility..MaxVisibility) and
// returns its new receipt handle; the old one is stale from then on. A
// stale or expired handle is KindConflict. A retry after a lost answer may
// meet the handle already replaced and report KindConflict too: the
// message then reappears when d runs out, which is safe.
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) (string, error) {
	op := "mns ChangeMessageVisibility on " + q.name
	if receiptHandle == "" {
		return "", domain.Errorf(domain.KindInvalid, op, "", "empty receipt handle")
	}
	secs := ceilSeconds(d)
	if d <= 0 || secs > int64(MaxVisibility/time.Second) {
		return "", domain.Errorf(domain.KindInvalid, op, "", "visibility %s outside %s..%s", d, MinVisibility, MaxVisibility)
	}
	var handle string
	err := q.retry(ctx, op, func(ctx context.Context) error {
		resp, err := call(ctx, func() (ali_mns.MessageVisibilityChangeResponse, error) {
			return q.sdk().ChangeMessageVisibility(receiptHandle, secs)
		})
		switch {
		case err == nil:
			handle = resp.ReceiptHandle
			return nil
		default:
			return classify(op, err)
		}
	})
	if err != nil {
		return "", err
	}
	if handle == "" {
		return "", domain.Errorf(domain.KindInternal, op, codeBadResponse, "answer carries no receipt handle")
	}
	return handle, nil
}

// QueueAttributes are the attributes EnsureQueue creates a queue with.
// Zero fields take the MNS defaults.
type QueueAttributes struct {
	VisibilityTimeout time.Duration // default 30 s; 1 s..12 h
	Delay             time.Duration // default 0; ≤ 7 days
	MaxMessageSize    int           // bytes, default 65536; 1024..65536
	Retention         time.Duration // default 4 days; 60 s..7 days
	PollingWait       time.Duration // default 0; ≤ 30 s
	LoggingEnabled    bool
}

// EnsureQueue creates the queue with attrs if it does not exist. A queue
// that already exists with the same attributes is success; one with other
// attributes is KindConflict (QueueAlreadyExist). Meant for setup and the
// demo, not for the function hot path.
func (q *Queue) EnsureQueue(ctx context.Context, attrs QueueAttributes) error {
	op := "mns CreateQueue " + q.name
	opts := []ali_mns.QueueOption{ali_mns.WithLoggingEnabled(attrs.LoggingEnabled)}
	if attrs.VisibilityTimeout != 0 {
		opts = append(opts, ali_mns.WithVisibilityTimeout(int32(ceilSeconds(attrs.VisibilityTimeout))))
	}
	if attrs.Delay != 0 {
		opts = append(opts, ali_mns.WithDelaySeconds(int32(ceilSeconds(attrs.Delay))))
	}
	if attrs.MaxMessageSize != 0 {
		opts = append(opts, ali_mns.WithMaxMessageSize(int32(attrs.MaxMessageSize)))
	}
	if attrs.Retention != 0 {
		opts = append(opts, ali_mns.WithMessageRetentionPeriod(int32(ceilSeconds(attrs.Retention))))
	}
	if attrs.PollingWait != 0 {
		opts = append(opts, ali_mns.WithPollingWaitSeconds(int32(ceilSeconds(attrs.PollingWait))))
	}
	return q.retry(ctx, op, func(ctx context.Context) error {
		_, err := call(ctx, func() (struct{}, error) {
			return struct{}{}, q.mgr.CreateQueueWithOptions(q.name, opts...)
		})
		switch {
		case err == nil, ali_mns.ERR_MNS_QUEUE_ALREADY_EXIST_AND_HAVE_SAME_ATTR.IsEqual(err):
			return nil
		default:
			return classify(op, err)
		}
	})
}

// retry is the one place the adapter retries: shared/retry's loop with the
// configured policy, retrying what domain.IsRetryable accepts (throttled
// and transient kinds). retry.Do returns ctx's bare error when ctx ended
// before an attempt; classify gives it its kind (canceled or deadline).
func (q *Queue) retry(ctx context.Context, op string, f func(context.Context) error) error {
	return classify(op, retry.Do(ctx, q.policy, domain.IsRetryable, f))
}

// call runs f, a blocking SDK call, and returns its result, or ctx's error
// as soon as ctx ends. The SDK takes no context, so an abandoned call runs
// on in its goroutine until its request timeout; its result is dropped.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: the goroutine never blocks
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

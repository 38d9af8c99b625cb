package fake

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sgpilot/sgpilot/shared/core/batching"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
)

// Queue limits, the same as MNS's (and mnsqueue's).
const (
	QueueMaxBatch      = 16
	QueueMaxWait       = 30 * time.Second
	QueueMaxBodyBytes  = 65536
	QueueMaxBatchBytes = 65536
	QueueMaxDelay      = 7 * 24 * time.Hour
	QueueMaxVisibility = 12 * time.Hour
	// QueueDefaultVisibility is MNS's default visibility timeout.
	QueueDefaultVisibility = 30 * time.Second
)

// QueueOptions configure a Queue. The zero value is a queue with MNS's
// defaults on the wall clock.
type QueueOptions struct {
	// Name appears in error operations ("fake-queue").
	Name string
	// Now is the queue's clock (time.Now). Tests inject a manual clock to
	// expire visibility timeouts and delays without sleeping.
	Now func() time.Time
	// VisibilityTimeout is how long a received message stays invisible
	// (QueueDefaultVisibility).
	VisibilityTimeout time.Duration
	// Unordered delivers visible messages in random order, as MNS may;
	// by default they come in enqueue order.
	Unordered bool
	// Seed seeds the random order and the IDs (0 is a fixed seed too).
	Seed uint64
	// PollInterval is how often a waiting Receive re-reads Now, since an
	// injected clock cannot announce its jumps (10 ms).
	PollInterval time.Duration
	// Clock, when set, is the queue's clock (it replaces Now), and a long
	// poll runs on it instead of in real time: a Receive that finds nothing
	// visible advances the clock to when the first message becomes visible
	// or the poll's wait ends, whichever is first, as if that time had
	// passed. Code under test that sleeps on the same clock (heartbeats,
	// pauses) then sees a consistent time. Without it, a poll waits for
	// real.
	Clock *Clock
}

// QueueOp names a provider call the fake models, one per batch.
type QueueOp string

// The calls, named after the MNS operations the adapter makes.
const (
	QueueOpSend             QueueOp = "BatchSendMessage"
	QueueOpReceive          QueueOp = "BatchReceiveMessage"
	QueueOpDelete           QueueOp = "BatchDeleteMessage"
	QueueOpChangeVisibility QueueOp = "ChangeMessageVisibility"
)

// QueueCall describes one call to the interceptor.
type QueueCall struct {
	Op QueueOp
	// N counts calls of this Op, from 1.
	N int
	// Items are the message bodies of a send batch or the receipt handles
	// of a delete batch or visibility change; nil for receives.
	Items []string
	// Delay is a send's message delay, a visibility change's new
	// visibility, or a receive's long-poll wait; 0 for deletes.
	Delay time.Duration
}

// QueueFault is what an interceptor makes of a call. The zero value lets
// the call run normally.
type QueueFault struct {
	// Err fails the whole call before it takes effect.
	Err error
	// ItemErrs fails single items of a send or delete batch, by index in
	// Items; the other items take effect.
	ItemErrs map[int]error
	// LostReply lets the call take effect and then returns this error, as
	// when an answer is lost on the way back: a send happened, a receive
	// made messages invisible, a delete deleted.
	LostReply error
	// Delay holds the call this long (or until ctx ends) before it runs.
	Delay time.Duration
}

// QueueState is where a message is in its life cycle (MNS's names).
type QueueState string

// States of a message.
const (
	QueueDelayed  QueueState = "Delayed"
	QueueActive   QueueState = "Active"
	QueueInactive QueueState = "Inactive"
)

// QueueMessage is a message as Snapshot shows it.
type QueueMessage struct {
	ID           string
	Body         string
	State        QueueState
	DequeueCount int
	EnqueueTime  time.Time
	// VisibleAt is when a delayed or inactive message becomes active.
	VisibleAt time.Time
}

// QueueSnapshot is the queue's state at one instant, for invariant checks.
type QueueSnapshot struct {
	Now      time.Time
	Messages []QueueMessage // live messages in enqueue order
	Deleted  []QueueMessage // deleted messages in deletion order
	Sent     int            // messages accepted
	Received int            // deliveries (a redelivery counts again)
	Calls    map[QueueOp]int
}

// Count returns how many live messages are in state s.
func (s QueueSnapshot) Count(st QueueState) int {
	n := 0
	for _, m := range s.Messages {
		if m.State == st {
			n++
		}
	}
	return n
}

// Queue is an in-memory MNS queue with the Queue method set of
// docs/CONTRACTS.md (the same as shared/adapter/mnsqueue.Queue). It keeps the
// rules sgpilot depends on, checked against mnsqueue + localcloud's MNS
// emulator by the conformance suite shared/testkit/queuetest:
//
//   - a received message is invisible for the visibility timeout, then
//     comes back with DequeueCount+1 and a new receipt handle;
//   - only the newest receipt handle is valid, and only while the message
//     is invisible; a stale or expired one is KindConflict
//     (ReceiptHandleError), failing only its own item in a batch delete;
//   - ChangeVisibility returns a new handle and replaces the old one;
//   - per-message delay; batches of at most 16 messages and 64 KiB; long
//     polls that wake when a message is sent; empty queue is nil, nil;
//   - the same argument checks and KindInvalid errors as the adapter, and
//     batch errors of the same shape (one *domain.Error per failed item,
//     Op "task <ID>", "body #<i>" or "receipt handle <h>").
//
// Faults are injected per provider call (one per batch) by SetInterceptor
// or FailNext, on top of the working queue.
//
// Not modelled: message retention and size settings other than the 64 KiB
// limit; priorities; queue-level delay; queue existence (QueueNotExist
// only by injection); throttling and transport failures unless injected;
// MNS's limit on concurrent long polls; duplicate deliveries other than by
// visibility expiry or an injected LostReply. The fake does not retry: an
// injected retryable fault reaches the caller as if the adapter's retries
// had run out. Safe for concurrent use.
type Queue struct {
	opts QueueOptions

	mu          sync.Mutex
	rnd         *rand.Rand
	seq         int64
	msgs        []*queueMsg
	deleted     []QueueMessage
	sent        int
	received    int
	calls       map[QueueOp]int
	interceptor func(QueueCall) QueueFault
	failNext    map[QueueOp][]error
	wake        chan struct{}
}

type queueMsg struct {
	id, body  string
	enqueued  time.Time
	visibleAt time.Time
	handle    string // newest receipt handle
	inflight  bool   // received at least once (then "not visible yet" means Inactive)
	dequeues  int
}

func (m *queueMsg) state(now time.Time) QueueState {
	switch {
	case !now.Before(m.visibleAt):
		return QueueActive
	case m.inflight:
		return QueueInactive
	default:
		return QueueDelayed
	}
}

// NewQueue returns an empty queue.
func NewQueue(opts QueueOptions) *Queue {
	if opts.Name == "" {
		opts.Name = "fake-queue"
	}
	if opts.Clock != nil {
		opts.Now = opts.Clock.Now
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.VisibilityTimeout <= 0 {
		opts.VisibilityTimeout = QueueDefaultVisibility
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	return &Queue{
		opts:     opts,
		rnd:      rand.New(rand.NewPCG(opts.Seed, 0x5347)),
		calls:    map[QueueOp]int{},
		failNext: map[QueueOp][]error{},
		wake:     make(chan struct{}),
	}
}

// SetInterceptor installs f (nil removes it); it is called, without the
// queue's lock, once per provider call.
func (q *Queue) SetInterceptor(f func(QueueCall) QueueFault) {
	q.mu.Lock()
	q.interceptor = f
	q.mu.Unlock()
}

// FailNext makes the next call of op fail as a whole with err, once per
// FailNext (they queue up).
func (q *Queue) FailNext(op QueueOp, err error) {
	q.mu.Lock()
	q.failNext[op] = append(q.failNext[op], err)
	q.mu.Unlock()
}

// QueueThrottled is the error MNS throttling becomes (for injection).
func QueueThrottled() error {
	return domain.Errorf(domain.KindThrottled, "fake mns", "QpsLimitExceeded", "injected: request rate exceeds the QPS limit")
}

// QueueUnavailable is a transient server failure (for injection).
func QueueUnavailable() error {
	return domain.Errorf(domain.KindRetryable, "fake mns", "InternalError", "injected: the service encountered an internal error")
}

// Snapshot returns a copy of the queue's state.
func (q *Queue) Snapshot() QueueSnapshot {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.opts.Now()
	s := QueueSnapshot{Now: now, Sent: q.sent, Received: q.received, Calls: map[QueueOp]int{}}
	for _, m := range q.msgs {
		s.Messages = append(s.Messages, m.view(now))
	}
	s.Deleted = append([]QueueMessage(nil), q.deleted...)
	for k, v := range q.calls {
		s.Calls[k] = v
	}
	return s
}

func (m *queueMsg) view(now time.Time) QueueMessage {
	return QueueMessage{ID: m.id, Body: m.body, State: m.state(now), DequeueCount: m.dequeues,
		EnqueueTime: m.enqueued, VisibleAt: m.visibleAt}
}

// begin counts a call and decides its fault: FailNext first, then the
// interceptor. It honours a fault's Delay.
func (q *Queue) begin(ctx context.Context, op QueueOp, items []string, delay time.Duration) (QueueFault, error) {
	q.mu.Lock()
	q.calls[op]++
	c := QueueCall{Op: op, N: q.calls[op], Items: append([]string(nil), items...), Delay: delay}
	var f QueueFault
	if errs := q.failNext[op]; len(errs) > 0 {
		f.Err, q.failNext[op] = errs[0], errs[1:]
	}
	icpt := q.interceptor
	q.mu.Unlock()
	if f.Err == nil && icpt != nil {
		f = icpt(c)
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return f, ctx.Err()
		}
	}
	return f, nil
}

func (q *Queue) op(o QueueOp) string {
	switch o {
	case QueueOpSend:
		return "fake mns BatchSendMessage to " + q.opts.Name
	case QueueOpReceive:
		return "fake mns BatchReceiveMessage from " + q.opts.Name
	case QueueOpDelete:
		return "fake mns BatchDeleteMessage on " + q.opts.Name
	default:
		return "fake mns ChangeMessageVisibility on " + q.opts.Name
	}
}

func queueCtxError(op string, err error) error {
	return &domain.Error{Kind: domain.KindOf(err), Op: op, Err: err} // KindCanceled or KindDeadline, like mnsqueue
}

type queueItem struct{ id, body string }

// SendTasks encodes and sends tasks like mnsqueue.Queue.SendTasks: all are
// encoded first (an invalid one sends nothing), then batches of 16.
func (q *Queue) SendTasks(ctx context.Context, tasks []domain.Task) error {
	op := q.op(QueueOpSend)
	items := make([]queueItem, 0, len(tasks))
	var bad []error
	for _, t := range tasks {
		body, err := domain.EncodeTask(t)
		if err == nil {
			err = queueCheckBody(body)
		}
		if err != nil {
			bad = append(bad, &domain.Error{Kind: domain.KindInvalid, Op: "task " + t.ID, Err: err})
			continue
		}
		items = append(items, queueItem{"task " + t.ID, body})
	}
	if len(bad) > 0 {
		return batching.Join(op, "tasks invalid, none sent", len(bad), len(tasks), bad)
	}
	return q.send(ctx, op, "tasks", items, 0)
}

// SendBodies sends raw bodies with a delay (whole seconds, rounded up).
func (q *Queue) SendBodies(ctx context.Context, bodies []string, delay time.Duration) error {
	op := q.op(QueueOpSend)
	if delay < 0 || delay > QueueMaxDelay {
		return domain.Errorf(domain.KindInvalid, op, "", "delay %s outside 0..%s", delay, QueueMaxDelay)
	}
	items := make([]queueItem, 0, len(bodies))
	var bad []error
	for i, b := range bodies {
		id := fmt.Sprintf("body #%d", i)
		if err := queueCheckBody(b); err != nil {
			bad = append(bad, &domain.Error{Kind: domain.KindInvalid, Op: id, Err: err})
			continue
		}
		items = append(items, queueItem{id, b})
	}
	if len(bad) > 0 {
		return batching.Join(op, "bodies invalid, none sent", len(bad), len(bodies), bad)
	}
	return q.send(ctx, op, "bodies", items, queueCeil(delay))
}

func (q *Queue) send(ctx context.Context, op, noun string, items []queueItem, delay time.Duration) error {
	var failed []error
	for start := 0; start < len(items); {
		end, size := start, 0
		for end < len(items) && end-start < QueueMaxBatch && (end == start || size+len(items[end].body) <= QueueMaxBatchBytes) {
			size += len(items[end].body)
			end++
		}
		errs, stop := q.sendBatch(ctx, op, items[start:end], delay)
		failed = append(failed, errs...)
		start = end
		if stop != nil {
			for _, it := range items[start:] {
				failed = append(failed, batching.ItemError(it.id, stop, "not attempted after an earlier batch failed"))
			}
			break
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return batching.Join(op, noun+" not sent", len(failed), len(items), failed)
}

func (q *Queue) sendBatch(ctx context.Context, op string, batch []queueItem, delay time.Duration) (failed []error, stop error) {
	whole := func(err error) ([]error, error) {
		out := make([]error, len(batch))
		for i, it := range batch {
			out[i] = batching.ItemError(it.id, err, "")
		}
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return whole(queueCtxError(op, err))
	}
	bodies := make([]string, len(batch))
	for i, it := range batch {
		bodies[i] = it.body
	}
	f, err := q.begin(ctx, QueueOpSend, bodies, delay)
	if err != nil {
		return whole(queueCtxError(op, err))
	}
	if f.Err != nil {
		return whole(f.Err)
	}
	q.mu.Lock()
	now := q.opts.Now()
	for i, it := range batch {
		if ierr := f.ItemErrs[i]; ierr != nil {
			failed = append(failed, &domain.Error{Kind: domain.KindOf(ierr), Op: it.id, Code: domain.CodeOf(ierr), Err: ierr})
			continue
		}
		q.seq++
		q.msgs = append(q.msgs, &queueMsg{id: q.newIDLocked(), body: it.body, enqueued: now, visibleAt: now.Add(delay)})
		q.sent++
	}
	q.signalLocked()
	q.mu.Unlock()
	if f.LostReply != nil {
		return whole(f.LostReply)
	}
	return failed, nil
}

// newIDLocked returns a message ID shaped like MNS's (32 upper-case hex).
func (q *Queue) newIDLocked() string {
	sum := md5.Sum(fmt.Appendf(nil, "%d-%d", q.seq, q.rnd.Uint64()))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func (q *Queue) newHandleLocked(m *queueMsg) string {
	return fmt.Sprintf("fake-%s-%d-%08x", m.id[:8], m.dequeues, q.rnd.Uint32())
}

func (q *Queue) signalLocked() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// Receive takes up to maxMsgs (1..16) visible messages, waiting up to wait
// (0..30 s of real time, whole seconds rounded up, cut to end a second
// before ctx's deadline; the injected clock is re-read every PollInterval)
// for the first. An empty queue is nil, nil; ctx ending during the wait is
// an error (KindCanceled or KindDeadline).
func (q *Queue) Receive(ctx context.Context, maxMsgs int, wait time.Duration) ([]workqueue.Delivery, error) {
	op := q.op(QueueOpReceive)
	if maxMsgs < 1 || maxMsgs > QueueMaxBatch {
		return nil, domain.Errorf(domain.KindInvalid, op, "", "max %d outside 1..%d", maxMsgs, QueueMaxBatch)
	}
	if wait < 0 || wait > QueueMaxWait {
		return nil, domain.Errorf(domain.KindInvalid, op, "", "wait %s outside 0..%s", wait, QueueMaxWait)
	}
	if err := ctx.Err(); err != nil {
		return nil, queueCtxError(op, err)
	}
	f, err := q.begin(ctx, QueueOpReceive, nil, wait)
	if err != nil {
		return nil, queueCtxError(op, err)
	}
	if f.Err != nil {
		return nil, f.Err
	}
	// Like the adapter: the poll is cut to end a second before ctx's
	// deadline, in whole seconds.
	waitFor := queueCeil(wait)
	if dl, ok := ctx.Deadline(); ok {
		until := time.Until(dl)
		if q.opts.Clock != nil {
			until = dl.Sub(q.opts.Clock.Now())
		}
		left := until/time.Second*time.Second - time.Second
		waitFor = max(0, min(waitFor, left))
	}
	if q.opts.Clock != nil {
		return q.pollOnClock(maxMsgs, waitFor, f)
	}
	deadline := time.Now().Add(waitFor)
	var tick *time.Ticker
	for {
		q.mu.Lock()
		out := q.takeLocked(maxMsgs)
		wake := q.wake
		q.mu.Unlock()
		if len(out) > 0 {
			if f.LostReply != nil {
				return nil, f.LostReply
			}
			return out, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		if tick == nil {
			tick = time.NewTicker(q.opts.PollInterval)
			defer tick.Stop()
		}
		timer := time.NewTimer(left)
		select {
		case <-wake:
		case <-tick.C:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, queueCtxError(op, ctx.Err())
		}
		timer.Stop()
	}
}

// pollOnClock is Receive's long poll on QueueOptions.Clock: instead of
// waiting, it moves the clock to the next moment a message becomes visible,
// within waitFor.
func (q *Queue) pollOnClock(maxMsgs int, waitFor time.Duration, f QueueFault) ([]workqueue.Delivery, error) {
	end := q.opts.Clock.Now().Add(waitFor)
	for {
		q.mu.Lock()
		out := q.takeLocked(maxMsgs)
		next := q.nextVisibleLocked()
		q.mu.Unlock()
		if len(out) > 0 {
			if f.LostReply != nil {
				return nil, f.LostReply
			}
			return out, nil
		}
		if !q.opts.Clock.Now().Before(end) {
			return nil, nil
		}
		if next.IsZero() || next.After(end) {
			next = end
		}
		q.opts.Clock.AdvanceTo(next)
	}
}

// nextVisibleLocked is the earliest time a message that is not visible now
// becomes visible; zero when there is none.
func (q *Queue) nextVisibleLocked() time.Time {
	now := q.opts.Now()
	var next time.Time
	for _, m := range q.msgs {
		if m.visibleAt.After(now) && (next.IsZero() || m.visibleAt.Before(next)) {
			next = m.visibleAt
		}
	}
	return next
}

func (q *Queue) takeLocked(n int) []workqueue.Delivery {
	now := q.opts.Now()
	var cand []*queueMsg
	for _, m := range q.msgs {
		if m.state(now) == QueueActive {
			cand = append(cand, m)
		}
	}
	if q.opts.Unordered {
		q.rnd.Shuffle(len(cand), func(i, j int) { cand[i], cand[j] = cand[j], cand[i] })
	}
	if len(cand) > n {
		cand = cand[:n]
	}
	var out []workqueue.Delivery
	for _, m := range cand {
		m.dequeues++
		m.inflight = true
		m.visibleAt = now.Add(q.opts.VisibilityTimeout)
		m.handle = q.newHandleLocked(m)
		q.received++
		out = append(out, workqueue.Delivery{MessageID: m.id, Body: m.body, ReceiptHandle: m.handle,
			DequeueCount: m.dequeues, EnqueueTime: m.enqueued})
	}
	return out
}

// findLocked returns the message whose valid handle is h.
func (q *Queue) findLocked(h string, now time.Time) (int, *queueMsg) {
	for i, m := range q.msgs {
		if m.handle == h {
			if m.state(now) != QueueInactive {
				return -1, nil // expired: the message is visible again
			}
			return i, m
		}
	}
	return -1, nil
}

func queueHandleError(h string) error {
	return &domain.Error{Kind: domain.KindConflict, Op: "receipt handle " + h, Code: "ReceiptHandleError",
		Err: errors.New("the receipt handle you provide is not valid")}
}

// Delete deletes by receipt handle in batches of 16 (duplicates once); a
// stale or expired handle fails only itself, as KindConflict.
func (q *Queue) Delete(ctx context.Context, receiptHandles []string) error {
	op := q.op(QueueOpDelete)
	handles, err := batching.UniqueNonEmpty(op, "receipt handle", receiptHandles)
	if err != nil {
		return err
	}
	failed := batching.Do(handles, QueueMaxBatch, func(h string) string { return "receipt handle " + h },
		func(batch []string) ([]error, error) { return q.deleteBatch(ctx, op, batch) })
	if len(failed) == 0 {
		return nil
	}
	return batching.Join(op, "receipt handles not deleted", len(failed), len(handles), failed)
}

func (q *Queue) deleteBatch(ctx context.Context, op string, batch []string) (failed []error, stop error) {
	whole := func(err error) ([]error, error) {
		out := make([]error, len(batch))
		for i, h := range batch {
			out[i] = batching.ItemError("receipt handle "+h, err, "")
		}
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return whole(queueCtxError(op, err))
	}
	f, err := q.begin(ctx, QueueOpDelete, batch, 0)
	if err != nil {
		return whole(queueCtxError(op, err))
	}
	if f.Err != nil {
		return whole(f.Err)
	}
	q.mu.Lock()
	now := q.opts.Now()
	for i, h := range batch {
		if ierr := f.ItemErrs[i]; ierr != nil {
			failed = append(failed, &domain.Error{Kind: domain.KindOf(ierr), Op: "receipt handle " + h, Code: domain.CodeOf(ierr), Err: ierr})
			continue
		}
		idx, m := q.findLocked(h, now)
		if m == nil {
			failed = append(failed, queueHandleError(h))
			continue
		}
		q.deleted = append(q.deleted, m.view(now))
		q.msgs = append(q.msgs[:idx], q.msgs[idx+1:]...)
	}
	q.mu.Unlock()
	if f.LostReply != nil {
		return whole(f.LostReply)
	}
	return failed, nil
}

// ChangeVisibility makes the message invisible for d (1 s..12 h, whole
// seconds rounded up) from now and returns its new receipt handle.
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) (string, error) {
	op := q.op(QueueOpChangeVisibility)
	if receiptHandle == "" {
		return "", domain.Errorf(domain.KindInvalid, op, "", "empty receipt handle")
	}
	if d <= 0 || queueCeil(d) > QueueMaxVisibility {
		return "", domain.Errorf(domain.KindInvalid, op, "", "visibility %s outside 1s..%s", d, QueueMaxVisibility)
	}
	if err := ctx.Err(); err != nil {
		return "", queueCtxError(op, err)
	}
	f, err := q.begin(ctx, QueueOpChangeVisibility, []string{receiptHandle}, d)
	if err != nil {
		return "", queueCtxError(op, err)
	}
	if f.Err != nil {
		return "", f.Err
	}
	q.mu.Lock()
	now := q.opts.Now()
	_, m := q.findLocked(receiptHandle, now)
	if m == nil {
		q.mu.Unlock()
		return "", &domain.Error{Kind: domain.KindConflict, Op: op, Code: "ReceiptHandleError",
			Err: fmt.Errorf("receipt handle %s is not valid", receiptHandle)}
	}
	m.visibleAt = now.Add(queueCeil(d))
	m.handle = q.newHandleLocked(m)
	h := m.handle
	q.signalLocked()
	q.mu.Unlock()
	if f.LostReply != nil {
		return "", f.LostReply
	}
	return h, nil
}

// queueCheckBody applies mnsqueue's body checks.
func queueCheckBody(body string) error {
	switch {
	case body == "":
		return errors.New("empty message body")
	case len(body) > QueueMaxBodyBytes:
		return fmt.Errorf("message body is %d bytes, over the MNS limit of %d", len(body), QueueMaxBodyBytes)
	case !utf8.ValidString(body):
		return errors.New("message body is not valid UTF-8")
	}
	for _, r := range body {
		ok := r == 0x09 || r == 0x0A || r == 0x0D ||
			r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			return fmt.Errorf("message body contains %U, which XML cannot carry", r)
		}
	}
	return nil
}

// queueKindRank mirrors mnsqueue's: a batch error takes the kind retrying
// can least fix.

func queueCeil(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1) / time.Second * time.Second
}

package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
)

// Sender sends raw message bodies (re-enqueued tasks, dead-letter records),
// in batches of up to 16, each delivered after delay. On a partial failure it
// returns an error; the bodies already sent stay sent.
type Sender interface {
	SendBodies(ctx context.Context, bodies []string, delay time.Duration) error
}

// Queue is the work queue as the worker uses it (method set of
// docs/CONTRACTS.md, satisfied by mnsqueue.Queue and fake.Queue).
//
//   - Receive returns at most max (≤ 16) deliveries, long-polling up to wait
//     (≤ 30 s); an empty queue is nil, nil. Each receive hides the message
//     for the queue's visibility timeout and gives it a new receipt handle.
//   - Delete removes messages by receipt handle (≤ 16 per call); a stale
//     handle is reported as an error without failing the others.
//   - ChangeVisibility hides the message for d from now and returns the new
//     receipt handle (the old one stops working).
//
// Errors are *domain.Error; throttled and retryable ones are retried here.
type Queue interface {
	Sender
	Receive(ctx context.Context, max int, wait time.Duration) ([]workqueue.Delivery, error)
	Delete(ctx context.Context, receiptHandles []string) error
	ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) (string, error)
}

// DeadLetters is the dead-letter queue: it only receives records.
type DeadLetters interface {
	Sender
}

// Defaults of Options and DrainOptions.
const (
	DefaultMaxDeliveries     = 10
	DefaultRetryDelay        = 10 * time.Second
	DefaultRetryCeiling      = 5 * time.Minute
	DefaultDeadlineMargin    = 5 * time.Second
	DefaultMaxBatch          = 100
	DefaultGatherWindow      = 2 * time.Second
	DefaultPollWait          = 30 * time.Second
	DefaultIdleWindow        = 30 * time.Second
	DefaultMinBatchTime      = 20 * time.Second
	DefaultVisibilityTimeout = 30 * time.Second

	// MaxPollWait is MNS's long-poll ceiling.
	MaxPollWait = 30 * time.Second
	// MaxReceive is MNS's batch size for receive, send and delete.
	MaxReceive = 16
	// MinRetryDelay and MaxRetryDelay bound a retry's delay to what MNS
	// accepts for visibility (1 s..12 h); the message delay ceiling is larger.
	MinRetryDelay = time.Second
	MaxRetryDelay = 12 * time.Hour
)

// Options configure a Worker; zero fields take the defaults.
type Options struct {
	// MaxDeliveries bounds how often a task is tried (default 10).
	MaxDeliveries int
	// RetryDelay is used when a Retry outcome has no RetryAfter (default 10 s).
	RetryDelay time.Duration
	// RetryCeiling caps the growing retry delay (default 5 min): a
	// RetryAfter (or RetryDelay) is the wait before the first retry, and each
	// further delivery doubles it, so a slow cause (an instance that takes
	// minutes to start, a long throttling spell) is waited out without
	// spending the delivery budget in the first minute.
	RetryCeiling time.Duration
	// DeadlineMargin is kept free before ctx's deadline for settling
	// outcomes: handlers get a context that ends this much earlier (default 5 s).
	DeadlineMargin time.Duration
	// Retry is the back-off for queue calls (zero value = retry.Default();
	// its Sleep and Now default to the ones below).
	Retry retry.Policy
	// Now reads the clock (default time.Now).
	Now func() time.Time
	// Sleep waits d or until ctx ends (default a real timer). Heartbeats and
	// pauses after an empty receive use it, so tests run without real waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Worker decides ack, retry or dead-letter for the tasks of one queue.
// It is safe for one Drain or HandlePushed call at a time per queue message;
// concurrent calls on different messages are fine.
type Worker struct {
	queue    Queue
	dlq      DeadLetters
	handlers map[domain.TaskKind]Handler
	opts     Options
}

// New builds a worker. queue and dlq are required (queue may be only used for
// re-enqueueing in push mode); handlers maps each task kind to its handler,
// and a task of a kind without a handler is dead-lettered "unsupported-kind".
func New(queue Queue, dlq DeadLetters, handlers map[domain.TaskKind]Handler, opts Options) (*Worker, error) {
	if queue == nil || dlq == nil {
		return nil, errors.New("worker: a work queue and a dead-letter queue are required")
	}
	if opts.MaxDeliveries < 0 || opts.RetryDelay < 0 || opts.DeadlineMargin < 0 {
		return nil, fmt.Errorf("worker: MaxDeliveries %d, RetryDelay %s and DeadlineMargin %s must not be negative",
			opts.MaxDeliveries, opts.RetryDelay, opts.DeadlineMargin)
	}
	if opts.MaxDeliveries == 0 {
		opts.MaxDeliveries = DefaultMaxDeliveries
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = DefaultRetryDelay
	}
	if opts.RetryCeiling <= 0 {
		opts.RetryCeiling = DefaultRetryCeiling
	}
	if opts.DeadlineMargin == 0 {
		opts.DeadlineMargin = DefaultDeadlineMargin
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepReal
	}
	if opts.Retry.MaxAttempts == 0 {
		opts.Retry = retry.Default()
	}
	if opts.Retry.Sleep == nil {
		opts.Retry.Sleep = opts.Sleep
	}
	if opts.Retry.Now == nil {
		opts.Retry.Now = opts.Now
	}
	hs := make(map[domain.TaskKind]Handler, len(handlers))
	for k, h := range handlers {
		if h == nil {
			return nil, fmt.Errorf("worker: nil handler for task kind %q", k)
		}
		hs[k] = h
	}
	return &Worker{queue: queue, dlq: dlq, handlers: hs, opts: opts}, nil
}

func sleepReal(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// item is one received message on its way to an outcome.
type item struct {
	messageID string
	body      string
	// deliveries is DequeueCount (drain) or the task's Attempt (push).
	deliveries int
	task       domain.Task
	decodeErr  error
	outcome    Outcome
}

func (it *item) valid() bool { return it.decodeErr == nil }

// decode parses the body; a task without an ID gets kind:subject so that
// outcomes can be matched to it.
func (it *item) decode() {
	t, err := domain.DecodeTask(it.body)
	if err != nil {
		it.decodeErr = err
		return
	}
	if t.ID == "" {
		t.ID = string(t.Kind) + ":" + t.Subject()
	}
	it.task = t
}

// handlerContext ends DeadlineMargin before ctx's deadline, leaving time to
// settle outcomes.
func (w *Worker) handlerContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-w.opts.DeadlineMargin))
	}
	return context.WithCancel(ctx)
}

// dispatch runs the handlers over the valid items that are not settled yet
// (outcome.Result == 0) and fills in their outcomes.
func (w *Worker) dispatch(ctx context.Context, items []*item) {
	byKind := map[domain.TaskKind][]*item{}
	var kinds []domain.TaskKind
	for _, it := range items {
		if !it.valid() || it.outcome.Result != 0 {
			continue
		}
		k := it.task.Kind
		if _, ok := byKind[k]; !ok {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], it)
	}
	for _, k := range kinds {
		group := byKind[k]
		h, ok := w.handlers[k]
		if !ok {
			for _, it := range group {
				it.outcome = Terminal(it.task.ID, ReasonUnsupportedKind,
					fmt.Sprintf("this worker has no handler for %q tasks", k))
			}
			continue
		}
		for _, round := range rounds(group) {
			w.runHandler(ctx, k, h, round)
		}
	}
}

// rounds splits items so that task IDs are unique within each round. Items
// carrying the same task (a duplicate delivery) share one slot and receive
// the same outcome; a different task that reuses an ID waits for a later
// round, so an outcome is never applied to a task it was not computed for.
func rounds(items []*item) [][][]*item {
	var out [][][]*item
	var index []map[string]int // per round: task ID → slot
	for _, it := range items {
		placed := false
		for r := range out {
			slot, seen := index[r][it.task.ID]
			if !seen {
				index[r][it.task.ID] = len(out[r])
				out[r] = append(out[r], []*item{it})
				placed = true
				break
			}
			if sameTask(out[r][slot][0].task, it.task) {
				out[r][slot] = append(out[r][slot], it)
				placed = true
				break
			}
		}
		if !placed {
			out = append(out, [][]*item{{it}})
			index = append(index, map[string]int{it.task.ID: 0})
		}
	}
	return out
}

func sameTask(a, b domain.Task) bool {
	return a.Kind == b.Kind && a.RegionID == b.RegionID && a.Subject() == b.Subject() && a.StaleSince == b.StaleSince
}

// runHandler calls h for one round (slots of identical tasks) and records
// the outcomes; a panic or a missing outcome becomes a retry.
func (w *Worker) runHandler(ctx context.Context, kind domain.TaskKind, h Handler, round [][]*item) {
	tasks := make([]domain.Task, len(round))
	for i, slot := range round {
		tasks[i] = slot[0].task
	}
	outcomes, panicked := callHandler(ctx, h, tasks)
	log := logging.FromContext(ctx)
	if panicked != nil {
		log.Error("task handler panicked; its tasks will be retried",
			zap.String("kind", string(kind)), zap.Int("tasks", len(tasks)), zap.Any("panic", panicked))
	}
	byID := make(map[string]Outcome, len(outcomes))
	for _, o := range outcomes {
		byID[o.TaskID] = o
	}
	for _, slot := range round {
		id := slot[0].task.ID
		o, ok := byID[id]
		switch {
		case panicked != nil:
			o = RetryLater(id, 0, ReasonHandlerPanic, fmt.Sprintf("handler panicked: %v", panicked))
		case !ok || (o.Result != Done && o.Result != Retry && o.Result != DeadLetter):
			log.Error("task handler gave no valid outcome; retrying the task",
				zap.String(logging.FieldTaskID, id), zap.Stringer("result", o.Result))
			o = RetryLater(id, 0, ReasonNoOutcome, "the handler returned no valid outcome for this task")
		}
		if o.Result == DeadLetter && o.Reason == "" {
			o.Reason = "unspecified"
		}
		for _, it := range slot {
			it.outcome = o
		}
	}
}

func callHandler(ctx context.Context, h Handler, tasks []domain.Task) (outcomes []Outcome, panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	return h.Handle(ctx, tasks), nil
}

// deadLetterRecord renders the DLQ body for an item.
func (w *Worker) deadLetterRecord(it *item, reason, detail string) string {
	return domain.EncodeDeadLetter(domain.DeadLetter{
		Reason:       reason,
		Detail:       detail,
		TaskID:       it.task.ID,
		Subject:      it.task.Subject(),
		DequeueCount: it.deliveries,
		FailedAt:     w.opts.Now().UTC(),
		OriginalBody: it.body,
	})
}

// verdict is the queue action for one item after its outcome is known.
type verdict struct {
	action Result // Done, Retry or DeadLetter
	reason string
	detail string
	delay  time.Duration
}

// decide is the one switch: it maps an item (decode result, delivery count,
// outcome) to the queue action.
func (w *Worker) decide(it *item) verdict {
	switch {
	case !it.valid():
		return verdict{action: DeadLetter, reason: ReasonInvalidTask, detail: it.decodeErr.Error()}
	}
	o := it.outcome
	switch o.Result {
	case Done:
		return verdict{action: Done, reason: o.Reason, detail: o.Detail}
	case DeadLetter:
		return verdict{action: DeadLetter, reason: o.Reason, detail: o.Detail}
	}
	// Retry (runHandler guarantees nothing else reaches here).
	if it.deliveries >= w.opts.MaxDeliveries {
		return verdict{action: DeadLetter, reason: ReasonRetriesExhausted,
			detail: fmt.Sprintf("tried %d times (limit %d); last: %s: %s", it.deliveries, w.opts.MaxDeliveries, o.Reason, o.Detail)}
	}
	d := o.RetryAfter
	if d <= 0 {
		d = w.opts.RetryDelay
	}
	return verdict{action: Retry, reason: o.Reason, detail: o.Detail, delay: clampDelay(growDelay(d, it.deliveries, w.opts.RetryCeiling))}
}

// precheck settles items that must not reach a handler: undecodable bodies
// and tasks delivered more often than MaxDeliveries (poison messages that may
// have crashed earlier workers).
func (w *Worker) precheck(it *item) {
	if !it.valid() {
		return // decide dead-letters it
	}
	if it.deliveries > w.opts.MaxDeliveries {
		it.outcome = Terminal(it.task.ID, ReasonRetriesExhausted,
			fmt.Sprintf("delivered %d times, over the limit of %d, without reaching an outcome", it.deliveries, w.opts.MaxDeliveries))
	}
}

// growDelay doubles base for each delivery after the first, up to ceiling
// (never below base, so an explicit long RetryAfter is kept).
func growDelay(base time.Duration, deliveries int, ceiling time.Duration) time.Duration {
	d := base
	for i := 1; i < deliveries && d < ceiling; i++ {
		d *= 2
	}
	if d > ceiling && base <= ceiling {
		d = ceiling
	}
	return d
}

func clampDelay(d time.Duration) time.Duration {
	if d < MinRetryDelay {
		return MinRetryDelay
	}
	if d > MaxRetryDelay {
		return MaxRetryDelay
	}
	return d
}

// call runs a queue operation under the retry policy.
func (w *Worker) call(ctx context.Context, f func(context.Context) error) error {
	return retry.Do(ctx, w.opts.Retry, domain.IsRetryable, f)
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

func logItem(log *zap.Logger, it *item) *zap.Logger {
	fields := []zap.Field{zap.String("message_id", it.messageID)}
	if it.valid() {
		fields = append(fields, zap.String(logging.FieldTaskID, it.task.ID), zap.String("kind", string(it.task.Kind)))
	}
	return log.With(fields...)
}

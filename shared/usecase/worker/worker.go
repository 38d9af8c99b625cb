package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/core/task"
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
// Errors are *domain.Error. The adapter has retried throttled and transient
// failures already; the worker does not retry again.
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
	DefaultConcurrency       = 8

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
	// Concurrency bounds how many jobs of a batch run at once (default 8).
	Concurrency int
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
	handlers map[domain.TaskKind]task.Handler
	opts     Options
}

// New builds a worker. queue and dlq are required (queue may be only used for
// re-enqueueing in push mode); handlers maps each task kind to its handler,
// and a task of a kind without a handler is dead-lettered "unsupported-kind".
func New(queue Queue, dlq DeadLetters, handlers map[domain.TaskKind]task.Handler, opts Options) (*Worker, error) {
	if queue == nil || dlq == nil {
		return nil, errors.New("worker: a work queue and a dead-letter queue are required")
	}
	if opts.MaxDeliveries < 0 || opts.RetryDelay < 0 || opts.DeadlineMargin < 0 || opts.Concurrency < 0 {
		return nil, fmt.Errorf("worker: MaxDeliveries %d, RetryDelay %s, DeadlineMargin %s and Concurrency %d must not be negative",
			opts.MaxDeliveries, opts.RetryDelay, opts.DeadlineMargin, opts.Concurrency)
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
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
		opts.Sleep = retry.Sleep
	}
	hs := make(map[domain.TaskKind]task.Handler, len(handlers))
	for k, h := range handlers {
		if h == nil {
			return nil, fmt.Errorf("worker: nil handler for task kind %q", k)
		}
		hs[k] = h
	}
	return &Worker{queue: queue, dlq: dlq, handlers: hs, opts: opts}, nil
}

// item is one received message on its way to an outcome.
type item struct {
	messageID string
	body      string
	// deliveries is DequeueCount (drain) or the task's Attempt (push).
	deliveries int
	task       domain.Task
	decodeErr  error
	outcome    task.Outcome
	// panicked: the outcome is ReasonHandlerPanic.
	panicked bool
	// handle is the newest receipt handle (drain mode).
	handle string
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
				it.outcome = task.Terminal(it.task.ID, task.ReasonUnsupportedKind,
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

// runHandler calls h for one round (slots of identical tasks), runs the
// jobs it returns and records the outcomes; a panic or a missing outcome
// becomes a retry.
func (w *Worker) runHandler(ctx context.Context, kind domain.TaskKind, h task.Handler, round [][]*item) {
	tasks := make([]domain.Task, len(round))
	for i, slot := range round {
		tasks[i] = slot[0].task
	}
	log := logging.FromContext(ctx).With(zap.String("kind", string(kind)))
	var byID map[string]task.Outcome
	panics := map[string]any{}
	jobs, panicked := callHandle(ctx, h, tasks)
	if panicked != nil {
		log.Error("task handler panicked; its tasks will be retried and the process exits after responding",
			zap.Int("tasks", len(tasks)), zap.Any("panic", panicked))
		for _, t := range tasks {
			panics[t.ID] = panicked
		}
	} else {
		// The After round checks the first round's work: it starts once
		// every first-round job has returned, and its outcomes win.
		first, after := task.Rounds(jobs)
		byID = w.runJobs(ctx, log, first, panics)
		for id, o := range w.runJobs(ctx, log, after, panics) {
			byID[id] = o
		}
	}
	for _, slot := range round {
		id := slot[0].task.ID
		o, ok := byID[id]
		p, didPanic := panics[id]
		switch {
		case didPanic:
			o = task.RetryLater(id, 0, task.ReasonHandlerPanic, fmt.Sprintf("handler panicked: %v", p))
		case !ok || !o.Result.Valid():
			log.Error("task handler gave no valid outcome; retrying the task",
				zap.String(logging.FieldTaskID, id), zap.Stringer("result", o.Result))
			o = task.RetryLater(id, 0, task.ReasonNoOutcome, "the handler returned no valid outcome for this task")
		}
		if o.Result == task.DeadLetter && o.Reason == "" {
			o.Reason = task.ReasonUnspecified
		}
		for _, it := range slot {
			it.outcome, it.panicked = o, didPanic
		}
	}
}

// runJobs runs a round's jobs, at most Options.Concurrency at once, each
// under its own panic recovery: a panicking job's tasks are recorded in
// panics, and the other jobs go on. It returns the outcomes by task ID; an
// outcome for a task its job does not name is ignored.
func (w *Worker) runJobs(ctx context.Context, log *zap.Logger, jobs []task.Job, panics map[string]any) map[string]task.Outcome {
	byID := map[string]task.Outcome{}
	var mu sync.Mutex
	sem := make(chan struct{}, w.opts.Concurrency)
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outcomes, p := runJob(ctx, job)
			mu.Lock()
			defer mu.Unlock()
			if p != nil {
				log.Error("task job panicked; its tasks will be retried and the process exits after responding",
					zap.Strings(logging.FieldTaskID, job.TaskIDs), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				for _, id := range job.TaskIDs {
					panics[id] = p
				}
				return
			}
			named := make(map[string]bool, len(job.TaskIDs))
			for _, id := range job.TaskIDs {
				named[id] = true
			}
			for _, o := range outcomes {
				if named[o.TaskID] {
					byID[o.TaskID] = o
				}
			}
		}()
	}
	wg.Wait()
	return byID
}

func callHandle(ctx context.Context, h task.Handler, tasks []domain.Task) (jobs []task.Job, panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	return h.Handle(ctx, tasks), nil
}

func runJob(ctx context.Context, job task.Job) (outcomes []task.Outcome, panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	if job.Run == nil {
		return nil, nil
	}
	return job.Run(ctx), nil
}

// deadLetterRecord builds the DLQ record for an item: bounded, so that it
// always fits in one message (see shared/core/deadletter).
func (w *Worker) deadLetterRecord(it *item, reason task.Reason, detail string) deadletter.Record {
	in := deadletter.Input{
		MessageID:    it.messageID,
		Body:         it.body,
		Reason:       string(reason),
		Detail:       detail,
		DequeueCount: it.deliveries,
		FailedAt:     w.opts.Now().UTC(),
	}
	if it.valid() {
		in.TaskID, in.TaskKind, in.Subject, in.Region = it.task.ID, string(it.task.Kind), it.task.Subject(), it.task.RegionID
	}
	return deadletter.New(in)
}

// verdict is the queue action for one item after its outcome is known.
type verdict struct {
	action task.Result // Done, Retry or DeadLetter
	reason task.Reason
	detail string
	delay  time.Duration
}

// decide is the one switch: it maps an item (decode result, delivery count,
// outcome) to the queue action.
func (w *Worker) decide(it *item) verdict {
	switch {
	case !it.valid():
		return verdict{action: task.DeadLetter, reason: task.ReasonInvalidTask, detail: it.decodeErr.Error()}
	}
	o := it.outcome
	switch o.Result {
	case task.Done:
		return verdict{action: task.Done, reason: o.Reason, detail: o.Detail}
	case task.DeadLetter:
		return verdict{action: task.DeadLetter, reason: o.Reason, detail: o.Detail}
	}
	// Retry (runHandler guarantees nothing else reaches here).
	if it.deliveries >= w.opts.MaxDeliveries {
		return verdict{action: task.DeadLetter, reason: task.ReasonRetriesExhausted,
			detail: fmt.Sprintf("tried %d times (limit %d); last: %s: %s", it.deliveries, w.opts.MaxDeliveries, o.Reason, o.Detail)}
	}
	d := o.RetryAfter
	if d <= 0 {
		d = w.opts.RetryDelay
	}
	return verdict{action: task.Retry, reason: o.Reason, detail: o.Detail, delay: clampDelay(growDelay(d, it.deliveries, w.opts.RetryCeiling))}
}

// precheck settles items that must not reach a handler: undecodable bodies
// and tasks delivered more often than MaxDeliveries (poison messages that may
// have crashed earlier workers).
func (w *Worker) precheck(it *item) {
	if !it.valid() {
		return // decide dead-letters it
	}
	if it.deliveries > w.opts.MaxDeliveries {
		it.outcome = task.Terminal(it.task.ID, task.ReasonRetriesExhausted,
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

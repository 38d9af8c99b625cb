package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/sgpilot/sgpilot/shared/core/logging"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
)

// DrainOptions shape one Drain call; zero fields take the defaults.
type DrainOptions struct {
	// MaxBatch is the most tasks handled together (default 100). Batching
	// across messages is what lets a handler share its cloud lookups.
	MaxBatch int
	// GatherWindow is how long, after the first message of a batch arrives,
	// Drain keeps receiving to fill the batch (default 2 s).
	GatherWindow time.Duration
	// PollWait is the long-poll wait of a receive (default and maximum 30 s).
	PollWait time.Duration
	// IdleWindow ends Drain when no message arrived for this long (default 30 s).
	IdleWindow time.Duration
	// MinBatchTime is the time a batch may need from its first receive to
	// its last acknowledgement; no batch starts with less than this left
	// before ctx's deadline minus Options.DeadlineMargin (default 20 s).
	MinBatchTime time.Duration
	// VisibilityTimeout must equal the work queue's visibility timeout
	// (default 30 s, MNS's default): heartbeats extend a message's
	// invisibility by this much when half of it is left.
	VisibilityTimeout time.Duration
	// HeartbeatInterval is how often in-flight messages are checked for
	// extension (default VisibilityTimeout/3).
	HeartbeatInterval time.Duration
}

func (o DrainOptions) withDefaults() (DrainOptions, error) {
	if o.MaxBatch < 0 || o.GatherWindow < 0 || o.PollWait < 0 || o.IdleWindow < 0 ||
		o.MinBatchTime < 0 || o.VisibilityTimeout < 0 || o.HeartbeatInterval < 0 {
		return o, errors.New("worker: drain options must not be negative")
	}
	if o.PollWait > MaxPollWait {
		return o, fmt.Errorf("worker: PollWait %s is over the MNS maximum of %s", o.PollWait, MaxPollWait)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	def(&o.GatherWindow, DefaultGatherWindow)
	def(&o.PollWait, DefaultPollWait)
	def(&o.IdleWindow, DefaultIdleWindow)
	def(&o.MinBatchTime, DefaultMinBatchTime)
	def(&o.VisibilityTimeout, DefaultVisibilityTimeout)
	def(&o.HeartbeatInterval, o.VisibilityTimeout/3)
	if o.VisibilityTimeout < MinRetryDelay {
		return o, fmt.Errorf("worker: VisibilityTimeout %s is under the MNS minimum of 1s", o.VisibilityTimeout)
	}
	return o, nil
}

// Stop reasons reported in Summary.Stopped.
const (
	StoppedIdle     = "idle"
	StoppedDeadline = "deadline"
	StoppedCanceled = "canceled"
	StoppedError    = "error"
)

// Drain receives and handles tasks from the work queue until the queue has
// been empty for IdleWindow, too little time is left before ctx's deadline
// to finish another batch, or ctx ends. Each batch is settled completely
// before the next receive: Done → delete; Retry → hide the message for the
// retry delay (it comes back with DequeueCount+1), or dead-letter it as
// "retries-exhausted" once DequeueCount has reached MaxDeliveries;
// DeadLetter → send the record to the DLQ and, only once that succeeded,
// delete the message.
//
// Drain returns an error when receiving fails (after the adapter's retries)
// or a dead-letter record could not be sent (its message is left on the
// queue to come back); the Summary counts what was done up to then.
func (w *Worker) Drain(ctx context.Context, o DrainOptions) (Summary, error) {
	start := w.opts.Now()
	sum := Summary{DeadLettered: map[string]int{}}
	o, err := o.withDefaults()
	if err != nil {
		return sum, err
	}
	log := logging.FromContext(ctx)
	finish := func(stopped string, err error) (Summary, error) {
		sum.Stopped = stopped
		sum.Duration = w.opts.Now().Sub(start)
		log.Info("drain finished", zap.String("stopped", stopped), zap.Int("received", sum.Received),
			zap.Int("done", sum.Done), zap.Int("retried", sum.Retried), zap.Int("dead_lettered", sum.DeadLetteredTotal()),
			zap.Int("batches", sum.Batches), zap.Duration("duration", sum.Duration), zap.Error(err))
		return sum, err
	}

	lastMessage := start
	for {
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return finish(StoppedDeadline, nil)
			}
			return finish(StoppedCanceled, nil)
		}
		now := w.opts.Now()
		wait := min(o.PollWait, o.IdleWindow-now.Sub(lastMessage))
		if wait <= 0 {
			return finish(StoppedIdle, nil)
		}
		if dl, ok := ctx.Deadline(); ok {
			// The receive may use only what is left beyond one whole batch.
			spare := dl.Sub(now) - w.opts.DeadlineMargin - o.MinBatchTime
			if spare <= 0 {
				return finish(StoppedDeadline, nil)
			}
			wait = min(wait, spare)
		}

		batch, err := w.gather(ctx, o, wait)
		if err != nil {
			if ctx.Err() != nil {
				continue // the loop head reports why
			}
			return finish(StoppedError, err)
		}
		if len(batch) == 0 {
			// A long poll that came back empty at once (MNS does that under
			// many concurrent polls) must not turn into a busy loop.
			if spent := w.opts.Now().Sub(now); spent < wait/2 {
				_ = w.opts.Sleep(ctx, min(time.Second, wait-spent))
			}
			continue
		}
		lastMessage = w.opts.Now()
		bs, err := w.settleBatch(ctx, o, batch)
		sum.add(bs)
		if err != nil {
			return finish(StoppedError, err)
		}
	}
}

// received is a delivery and when it was received.
type received struct {
	workqueue.Delivery
	at time.Time
}

// gather receives one batch: a first long poll of up to firstWait, then more
// receives until the batch is full, the gather window is over or the queue
// comes back empty. A receive error after the first message ends the batch
// early (the messages in hand are handled); before it, it is returned.
func (w *Worker) gather(ctx context.Context, o DrainOptions, firstWait time.Duration) ([]received, error) {
	var out []received
	var gatherEnd time.Time
	wait := firstWait
	for len(out) < o.MaxBatch {
		max := min(MaxReceive, o.MaxBatch-len(out))
		ds, err := w.queue.Receive(ctx, max, wait)
		if err != nil {
			if len(out) > 0 {
				logging.FromContext(ctx).Warn("receive failed while gathering a batch; handling the messages in hand",
					zap.Int("messages", len(out)), zap.Error(err))
				break
			}
			return nil, fmt.Errorf("worker: receive up to %d messages from the work queue: %w", max, err)
		}
		if len(ds) == 0 {
			break
		}
		now := w.opts.Now()
		for _, d := range ds {
			out = append(out, received{Delivery: d, at: now})
		}
		if gatherEnd.IsZero() {
			gatherEnd = now.Add(o.GatherWindow)
		}
		if wait = gatherEnd.Sub(now); wait <= 0 {
			break
		}
	}
	return out, nil
}

// settleBatch handles one batch and carries out every outcome.
func (w *Worker) settleBatch(ctx context.Context, o DrainOptions, batch []received) (Summary, error) {
	items := make([]*item, len(batch))
	handles := make([]string, len(batch))
	visibleUntil := make([]time.Time, len(batch))
	for i, r := range batch {
		it := &item{messageID: r.MessageID, body: r.Body, deliveries: max(r.DequeueCount, 1)}
		it.decode()
		w.precheck(it)
		items[i] = it
		handles[i] = r.ReceiptHandle
		visibleUntil[i] = r.at.Add(o.VisibilityTimeout)
	}

	hb := w.startHeartbeat(ctx, o, handles, visibleUntil)
	hctx, cancel := w.handlerContext(ctx)
	w.dispatch(hctx, items)
	cancel()
	hb.stop() // from here on handles holds the newest receipt handles
	for i, it := range items {
		it.handle = handles[i]
	}
	return w.settle(ctx, items, drainAcker{w})
}

// heartbeat keeps a batch's messages invisible while its handler runs.
type heartbeat struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startHeartbeat extends, every HeartbeatInterval, the visibility of each
// message that has less than half a VisibilityTimeout left, and records the
// new receipt handle in handles. The caller must not read handles before
// stop returns.
func (w *Worker) startHeartbeat(ctx context.Context, o DrainOptions, handles []string, visibleUntil []time.Time) *heartbeat {
	sleepCtx, cancel := context.WithCancel(ctx)
	hb := &heartbeat{cancel: cancel, done: make(chan struct{})}
	log := logging.FromContext(ctx)
	go func() {
		defer close(hb.done)
		for {
			if err := w.opts.Sleep(sleepCtx, o.HeartbeatInterval); err != nil || sleepCtx.Err() != nil {
				return
			}
			now := w.opts.Now()
			extended := 0
			for i := range handles {
				if visibleUntil[i].Sub(now) > o.VisibilityTimeout/2 {
					continue
				}
				// The call uses ctx, not sleepCtx: a stop must not cut a
				// change off halfway and lose the new handle.
				nh, err := w.queue.ChangeVisibility(ctx, handles[i], o.VisibilityTimeout)
				if err != nil {
					log.Warn("visibility heartbeat failed; the message may be delivered again meanwhile",
						zap.Error(err))
					continue
				}
				handles[i], visibleUntil[i] = nh, now.Add(o.VisibilityTimeout)
				extended++
			}
			if extended > 0 {
				log.Debug("extended message visibility", zap.Int("messages", extended))
			}
		}
	}()
	return hb
}

func (hb *heartbeat) stop() {
	hb.cancel()
	<-hb.done
}

package fcemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// InvokeOptions are the per-call settings of Invoke.
type InvokeOptions struct {
	// Async queues the event (x-fc-invocation-type: Async) and returns at
	// once; FC's async retry policy and destinations apply.
	Async bool
	// RequestID overrides the generated request ID.
	RequestID string
	// Source labels the invocation in History (default "manual").
	Source string
}

// Result is the outcome of Invoke. For an async invocation only RequestID
// and Async are set.
type Result struct {
	RequestID string
	Async     bool
	// Payload is the body the function posted to .../response (JSON).
	Payload []byte
	// Error is the function error (returned error, panic, timeout, crash,
	// failed start); nil on success.
	Error    *FunctionError
	Duration time.Duration
}

// SystemError is a platform-side failure of an invocation: what Controls
// injected (throttling, server fault, dropped connection) or an oversized
// payload. Async invocations retry the first three with back-off.
type SystemError struct {
	Status  int    `json:"-"`
	Code    string `json:"Code"`
	Message string `json:"Message"`
	// Dropped means the HTTP front end should close the connection without
	// an answer.
	Dropped bool `json:"-"`
}

func (e *SystemError) Error() string {
	return fmt.Sprintf("fc %d %s: %s", e.Status, e.Code, e.Message)
}

// retryable reports whether FC's async policy retries the error.
func (e *SystemError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500 || e.Dropped
}

// Invoke runs function with payload. Sync: it waits for the function and
// returns its result or function error in Result (err is for platform
// failures: unknown function, Controls faults, ctx, Close). Async: it queues
// the event and returns its request ID.
func (e *Emulator) Invoke(ctx context.Context, function string, payload []byte, opts InvokeOptions) (Result, error) {
	f, err := e.function(function)
	if err != nil {
		return Result{}, err
	}
	id := opts.RequestID
	if id == "" {
		id = newRequestID()
	}
	src := opts.Source
	if src == "" {
		src = "manual"
	}
	if opts.Async {
		if err := e.invokeAsync(f, id, payload, &request{source: src, async: true}); err != nil {
			return Result{}, err
		}
		return Result{RequestID: id, Async: true}, nil
	}
	if len(payload) > MaxSyncPayload {
		return Result{}, &SystemError{Status: http.StatusRequestEntityTooLarge, Code: "PayloadTooLarge",
			Message: fmt.Sprintf("payload of %d bytes exceeds the synchronous limit of %d", len(payload), MaxSyncPayload)}
	}
	return e.attempt(ctx, f, id, payload, 0, &request{source: src})
}

func newRequestID() string { return strings.ToLower(core.NewRequestID()) }

// attempt is one invocation attempt: Controls first, then an instance.
func (e *Emulator) attempt(ctx context.Context, f *function, id string, payload []byte, retry int, req *request) (Result, error) {
	switch e.env.Controls.Decide(ctx, "fc", "Invoke") {
	case core.Throttle:
		f.count(func(s *FunctionStats) { s.SystemErrors++ })
		return Result{RequestID: id}, &SystemError{Status: http.StatusTooManyRequests, Code: "ResourceThrottled", Message: "request was throttled (injected by controls)"}
	case core.ServerFault:
		f.count(func(s *FunctionStats) { s.SystemErrors++ })
		return Result{RequestID: id}, &SystemError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "service is unavailable (injected by controls)"}
	case core.DropConnection:
		f.count(func(s *FunctionStats) { s.SystemErrors++ })
		return Result{RequestID: id}, &SystemError{Status: http.StatusBadGateway, Code: "ConnectionDropped", Message: "connection dropped (injected by controls)", Dropped: true}
	}
	if err := ctx.Err(); err != nil {
		return Result{RequestID: id}, err
	}
	f.count(func(s *FunctionStats) { s.Invocations++ })
	start := time.Now()
	in, err := f.acquire(ctx)
	if err != nil {
		var se *startError
		if errors.As(err, &se) {
			f.record(&call{id: id, payload: payload, retry: retry, req: req, start: start}, attemptOutcome{ferr: se.ferr})
			return Result{RequestID: id, Error: se.ferr, Duration: time.Since(start)}, nil
		}
		return Result{RequestID: id}, err
	}
	c := newCall(kindInvoke, id, payload, f.spec.timeout(), req)
	c.retry = retry
	c.slot = true
	kill := f.injectInto(c)
	in.submit(c)
	if kill > 0 {
		f.killDuring(c, kill)
	}
	select {
	case out := <-c.done:
		return Result{RequestID: id, Payload: out.payload, Error: out.ferr, Duration: time.Since(start)}, nil
	case <-ctx.Done():
		// The function keeps running, as on FC; its result is recorded in
		// History only.
		return Result{RequestID: id}, ctx.Err()
	}
}

// invokeAsync queues one async event.
func (e *Emulator) invokeAsync(f *function, id string, payload []byte, req *request) error {
	if len(payload) > MaxAsyncPayload {
		return &SystemError{Status: http.StatusRequestEntityTooLarge, Code: "PayloadTooLarge",
			Message: fmt.Sprintf("payload of %d bytes exceeds the asynchronous limit of %d", len(payload), MaxAsyncPayload)}
	}
	req.async = true
	enqueued := e.env.Clock.Now()
	if !e.goBackground(func() { e.runAsync(f, id, payload, req, enqueued) }) {
		return ErrClosed
	}
	return nil
}

// runAsync applies FC's async policy to one event: system errors are
// retried with exponential back-off while the event is younger than
// maxAsyncEventAge; function errors are retried maxAsyncRetryAttempts times
// with x-fc-retry-count counting up; then the onFailure destination gets a
// record (onSuccess on success).
func (e *Emulator) runAsync(f *function, id string, payload []byte, req *request, enqueued time.Time) {
	cfg := &f.spec.Async
	retries, systemRetries, invokes := 0, 0, 0
	for {
		if age := e.env.Clock.Now().Sub(enqueued); age > cfg.maxAge() {
			f.note("async request %s dropped: older than maxAsyncEventAge %s", id, cfg.maxAge())
			e.asyncDone(f, id, payload, invokes, "EventAgeExceeded", Result{RequestID: id, Error: &FunctionError{
				ErrorMessage: "event expired before it could be processed", ErrorType: "EventAgeExceeded"}})
			return
		}
		res, err := e.attempt(e.ctx, f, id, payload, retries, req)
		if err != nil {
			var se *SystemError
			if e.ctx.Err() != nil || !errors.As(err, &se) || !se.retryable() {
				if e.ctx.Err() == nil {
					f.note("async request %s failed: %v", id, err)
					f.count(func(s *FunctionStats) { s.DiscardedEvents++ })
				}
				return
			}
			systemRetries++
			if !e.sleep(e.backoff(e.opts.SystemBackoff, systemRetries)) {
				return
			}
			continue
		}
		invokes++
		if res.Error == nil {
			e.asyncDone(f, id, payload, invokes, "", res)
			return
		}
		if retries >= cfg.maxRetries() {
			e.asyncDone(f, id, payload, invokes, "UnhandledInvocationError", res)
			return
		}
		retries++
		f.count(func(s *FunctionStats) { s.AsyncRetries++ })
		if !e.sleep(e.backoff(e.opts.RetryBackoff, retries)) {
			return
		}
	}
}

// DestinationRecord is the body sent to an async destination queue. FC's
// exact key names are unconfirmed; these follow the documented content:
// request context, original payload, response context and payload.
type DestinationRecord struct {
	Timestamp       int64           `json:"timestamp"` // epoch ms (emulated clock)
	RequestContext  RequestContext  `json:"requestContext"`
	RequestPayload  string          `json:"requestPayload"`
	ResponseContext ResponseContext `json:"responseContext"`
	ResponsePayload string          `json:"responsePayload"`
}

// RequestContext is part of DestinationRecord.
type RequestContext struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"` // "", "UnhandledInvocationError", "EventAgeExceeded"
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

// ResponseContext is part of DestinationRecord.
type ResponseContext struct {
	StatusCode    int    `json:"statusCode"`
	FunctionError string `json:"functionError,omitempty"`
}

func (e *Emulator) asyncDone(f *function, id string, payload []byte, invokes int, condition string, res Result) {
	dest := f.spec.Async.OnSuccess
	if condition != "" {
		dest = f.spec.Async.OnFailure
	}
	if dest == "" {
		if condition != "" {
			f.count(func(s *FunctionStats) { s.DiscardedEvents++ })
			f.note("async request %s failed for good (%s); no onFailure destination", id, condition)
		}
		return
	}
	rec := DestinationRecord{
		Timestamp: e.env.Clock.Now().UnixMilli(),
		RequestContext: RequestContext{
			RequestID:              id,
			FunctionArn:            fmt.Sprintf("acs:fc:%s:%s:functions/%s", e.region(f), e.env.AccountID, f.spec.Name),
			Condition:              condition,
			ApproximateInvokeCount: invokes,
		},
		RequestPayload:  string(payload),
		ResponseContext: ResponseContext{StatusCode: http.StatusOK},
		ResponsePayload: string(res.Payload),
	}
	if res.Error != nil {
		rec.ResponseContext.FunctionError = "UnhandledInvocationError"
		b, _ := json.Marshal(res.Error)
		rec.ResponsePayload = string(b)
	}
	body, _ := json.Marshal(rec)
	if !e.sendToQueue(f, dest, string(body), "destination record of "+id) && condition != "" {
		f.count(func(s *FunctionStats) { s.DiscardedEvents++ })
	}
}

// sendToQueue delivers body to the MNS queue named by arn through
// Options.Sender, counting the outcome; it reports whether it was sent.
func (e *Emulator) sendToQueue(f *function, arn, body, what string) bool {
	queue, err := QueueNameFromARN(arn)
	if err == nil && e.opts.Sender == nil {
		err = errors.New("no QueueSender configured")
	}
	if err == nil {
		err = e.opts.Sender.Send(queue, body)
	}
	if err != nil {
		f.count(func(s *FunctionStats) { s.DestinationFailures++ })
		f.note("%s not delivered to %s: %v", what, arn, err)
		return false
	}
	f.count(func(s *FunctionStats) { s.DestinationRecords++ })
	f.note("%s sent to queue %s", what, queue)
	return true
}

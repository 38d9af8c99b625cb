package fcemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

const dlqARN = "acs:mns:cn-hangzhou:" + testAccount + ":/queues/failed-events"

// streamSpec is a function with one MNS event-stream trigger on queue "in".
func streamSpec(name string, eb fcemu.EventBridgeTrigger) fcemu.FunctionSpec {
	spec := testSpec(name)
	eb.SourceType = fcemu.SourceMNS
	eb.Mode = fcemu.ModeEventStreaming
	eb.MNS = &fcemu.MNSSource{QueueName: "in"}
	spec.Triggers = []fcemu.TriggerSpec{{Name: "stream", Type: fcemu.TriggerEventBridge, Enabled: true, EventBridge: &eb}}
	return spec
}

func streamOptions(q *memQueue) fcemu.Options {
	opts := fastOptions()
	opts.Queues, opts.Sender = q, q
	return opts
}

// attempts counts the function's finished attempts and those that failed.
func attempts(e *fcemu.Emulator, fn string) (all, failed int) {
	for _, h := range e.History(fn) {
		all++
		if h.Error != nil {
			failed++
		}
	}
	return all, failed
}

func TestMNSStream_FailingBatchRetriedThenDeadLettered(t *testing.T) {
	tests := []struct {
		name        string
		retry       fcemu.RetryStrategy
		wantRetries int
	}{
		{name: "backoff default", wantRetries: 3},
		{name: "backoff capped by MaximumRetryAttempts", retry: fcemu.RetryStrategy{MaximumRetryAttempts: fcemu.IntPtr(1)}, wantRetries: 1},
		{name: "backoff never raised above 3", retry: fcemu.RetryStrategy{Policy: fcemu.RetryBackoff, MaximumRetryAttempts: fcemu.IntPtr(50)}, wantRetries: 3},
		{name: "exponential decay capped by event age", retry: fcemu.RetryStrategy{Policy: fcemu.RetryExponentialDecay, MaximumEventAge: 10 * time.Second}, wantRetries: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := newMemQueue(time.Minute)
			_ = q.Send("in", `{"action":"error","message":"poison"}`)
			_ = q.Send("in", `{"task":1}`)
			spec := streamSpec("dlq", fcemu.EventBridgeTrigger{
				Retry: tc.retry, ErrorsTolerance: fcemu.ToleranceAll, DeadLetterQueue: dlqARN,
				Batch: &fcemu.BatchWindow{Count: 2, Time: 500 * time.Millisecond},
			})
			e := MustEmulator(t, newEnv(), streamOptions(q), spec)

			waitFor(t, 10*time.Second, "batch dead-lettered", func() bool { return len(q.bodies("failed-events")) == 2 })
			MustWaitIdle(t, e)
			if n, failed := attempts(e, "dlq"); n != tc.wantRetries+1 || failed != n {
				t.Errorf("attempts = %d (%d failed), want %d failed", n, failed, tc.wantRetries+1)
			}
			if b := q.bodies("in"); len(b) != 0 {
				t.Errorf("left in the source queue: %q (a stream consumes what it delivers)", b)
			}
			var bodies []string
			for _, m := range q.bodies("failed-events") {
				var ev struct {
					Type string
					Data struct{ MessageBody string }
				}
				mustJSON(t, m, &ev)
				if ev.Type != "mns:Queue:SendMessage" {
					t.Errorf("dead letter is not the delivered CloudEvent: %s", m)
				}
				bodies = append(bodies, ev.Data.MessageBody)
			}
			sort.Strings(bodies)
			if strings.Join(bodies, ",") != `{"action":"error","message":"poison"},{"task":1}` {
				t.Errorf("dead-lettered bodies = %q, want each event of the batch", bodies)
			}
			st, _ := e.Stats("dlq")
			if st.DeadLetteredEvents != 2 || st.DiscardedEvents != 0 || e.Discarded() != 0 {
				t.Errorf("stats = %+v, discarded = %d", st, e.Discarded())
			}
		})
	}
}

func TestMNSStream_WithoutDeadLetterQueueDiscardsAndCounts(t *testing.T) {
	q := newMemQueue(time.Minute)
	_ = q.Send("in", `{"action":"error","message":"poison"}`)
	spec := streamSpec("nodlq", fcemu.EventBridgeTrigger{
		ErrorsTolerance: fcemu.ToleranceAll,
		Retry:           fcemu.RetryStrategy{MaximumRetryAttempts: fcemu.IntPtr(2)},
	})
	e := MustEmulator(t, newEnv(), streamOptions(q), spec)
	waitFor(t, 10*time.Second, "event discarded", func() bool { return e.Discarded() == 1 })

	// Errors are tolerated: the stream goes on with later messages.
	_ = q.Send("in", `{"task":2}`)
	waitFor(t, 10*time.Second, "later message delivered", func() bool {
		n, failed := attempts(e, "nodlq")
		return n-failed == 1
	})
	MustWaitIdle(t, e)
	if n, failed := attempts(e, "nodlq"); failed != 3 || n != 4 {
		t.Errorf("attempts = %d, failed = %d; want 3 failed (1 + 2 retries) and 1 success", n, failed)
	}

	srv := httptest.NewServer(e.InvokeHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/discarded")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var rep fcemu.DiscardReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("GET /discarded = %s: %v", raw, err)
	}
	if rep.Discarded != 1 || rep.Functions["nodlq"] != 1 {
		t.Errorf("GET /discarded = %s", raw)
	}
}

func TestMNSStream_ErrorsTolerance(t *testing.T) {
	tests := []struct {
		name        string
		tolerance   string
		wantBlocked bool
	}{
		{name: "NONE stops the stream", tolerance: fcemu.ToleranceNone, wantBlocked: true},
		{name: "unset is NONE", tolerance: "", wantBlocked: true},
		{name: "ALL moves on", tolerance: fcemu.ToleranceAll, wantBlocked: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := newMemQueue(time.Minute)
			_ = q.Send("in", `{"action":"error","message":"poison"}`)
			spec := streamSpec("tol", fcemu.EventBridgeTrigger{
				ErrorsTolerance: tc.tolerance, DeadLetterQueue: dlqARN,
				Retry: fcemu.RetryStrategy{MaximumRetryAttempts: fcemu.IntPtr(0)},
			})
			e := MustEmulator(t, newEnv(), streamOptions(q), spec)
			waitFor(t, 10*time.Second, "poison push settled", func() bool {
				st, _ := e.Stats("tol")
				return st.BlockedEvents+st.DeadLetteredEvents == 1
			})
			_ = q.Send("in", `{"task":2}`)
			if tc.wantBlocked {
				time.Sleep(500 * time.Millisecond) // several poll waits
			} else {
				waitFor(t, 10*time.Second, "later message delivered", func() bool { return len(e.History("tol")) == 2 })
			}
			MustWaitIdle(t, e)
			st, _ := e.Stats("tol")
			left := q.bodies("in")
			if tc.wantBlocked {
				if st.BlockedEvents != 1 || len(left) != 1 || len(q.bodies("failed-events")) != 0 || len(e.History("tol")) != 1 {
					t.Errorf("blocked stream: stats %+v, left %q, dead letters %q", st, left, q.bodies("failed-events"))
				}
			} else if st.DeadLetteredEvents != 1 || len(left) != 0 {
				t.Errorf("tolerant stream: stats %+v, left %q", st, left)
			}
			if e.Discarded() != 0 {
				t.Errorf("discarded = %d, want 0", e.Discarded())
			}
		})
	}
}

func TestMNSStream_BatchWindow(t *testing.T) {
	tests := []struct {
		name      string
		window    *fcemu.BatchWindow
		send      int
		wantSizes []int
	}{
		{name: "time window closes a partial batch", window: &fcemu.BatchWindow{Count: 10, Time: 400 * time.Millisecond}, send: 3, wantSizes: []int{3}},
		{name: "count window splits", window: &fcemu.BatchWindow{Count: 2, Time: 400 * time.Millisecond}, send: 5, wantSizes: []int{2, 2, 1}},
		{name: "no window pushes one-element arrays", window: nil, send: 2, wantSizes: []int{1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := newMemQueue(time.Minute)
			for i := range tc.send {
				_ = q.Send("in", `{"task":`+string(rune('0'+i))+`}`)
			}
			e := MustEmulator(t, newEnv(), streamOptions(q), streamSpec("win", fcemu.EventBridgeTrigger{Batch: tc.window}))
			waitFor(t, 10*time.Second, "every message pushed", func() bool {
				total := 0
				for _, h := range e.History("win") {
					var res struct{ Batch int }
					_ = json.Unmarshal(h.Result, &res)
					total += res.Batch
				}
				return total == tc.send
			})
			MustWaitIdle(t, e)
			var sizes []int
			for _, h := range e.History("win") {
				if !strings.HasPrefix(string(h.Payload), "[") {
					t.Errorf("stream payload is not an array: %s", h.Payload)
				}
				var res struct{ Batch int }
				mustJSON(t, string(h.Result), &res)
				sizes = append(sizes, res.Batch)
			}
			if len(sizes) != len(tc.wantSizes) {
				t.Fatalf("batch sizes = %v, want %v", sizes, tc.wantSizes)
			}
			for i := range sizes {
				if sizes[i] != tc.wantSizes[i] {
					t.Errorf("batch sizes = %v, want %v", sizes, tc.wantSizes)
				}
			}
		})
	}
}

func TestRetryStrategy_Delays(t *testing.T) {
	half := func() float64 { return 0.5 }
	sum := func(ds []time.Duration) time.Duration {
		var s time.Duration
		for _, d := range ds {
			s += d
		}
		return s
	}
	tests := []struct {
		name      string
		r         fcemu.RetryStrategy
		wantN     int
		wantFirst time.Duration
		wantLast  time.Duration
		wantSum   time.Duration
	}{
		{name: "backoff default", r: fcemu.RetryStrategy{}, wantN: 3, wantFirst: 15 * time.Second, wantLast: 15 * time.Second, wantSum: 45 * time.Second},
		{name: "exponential decay", r: fcemu.RetryStrategy{Policy: fcemu.RetryExponentialDecay}, wantN: 176, wantFirst: time.Second, wantLast: 512 * time.Second, wantSum: (511 + 167*512) * time.Second},
		{name: "attempts cap", r: fcemu.RetryStrategy{Policy: fcemu.RetryExponentialDecay, MaximumRetryAttempts: fcemu.IntPtr(4)}, wantN: 4, wantFirst: time.Second, wantLast: 8 * time.Second, wantSum: 15 * time.Second},
		{name: "zero attempts", r: fcemu.RetryStrategy{MaximumRetryAttempts: fcemu.IntPtr(0)}, wantN: 0},
		{name: "age cap", r: fcemu.RetryStrategy{Policy: fcemu.RetryExponentialDecay, MaximumEventAge: 100 * time.Second}, wantN: 6, wantFirst: time.Second, wantLast: 32 * time.Second, wantSum: 63 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.Delays(half)
			if len(got) != tc.wantN || sum(got) != tc.wantSum {
				t.Fatalf("%d delays summing to %s, want %d summing to %s", len(got), sum(got), tc.wantN, tc.wantSum)
			}
			if tc.wantN > 0 && (got[0] != tc.wantFirst || got[len(got)-1] != tc.wantLast) {
				t.Errorf("first %s last %s, want %s and %s", got[0], got[len(got)-1], tc.wantFirst, tc.wantLast)
			}
		})
	}
	for range 100 {
		for _, d := range (fcemu.RetryStrategy{}).Delays(nil) {
			if d < 10*time.Second || d >= 20*time.Second {
				t.Fatalf("BACKOFF_RETRY wait %s is outside 10-20 s", d)
			}
		}
	}
}

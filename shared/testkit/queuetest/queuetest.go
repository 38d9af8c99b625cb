// Package queuetest is the conformance suite of the Queue contract
// (docs/CONTRACTS.md). It runs the same cases against shared/testkit/fake.Queue and
// against mnsqueue.Queue talking to localcloud's MNS emulator, so that the
// fake cannot drift from what the adapter and MNS really do.
//
// It imports the domain and the standard library only: neither the SDK nor
// the fake.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
)

// Queue is the contract's method set.
type Queue interface {
	SendTasks(ctx context.Context, tasks []domain.Task) error
	SendBodies(ctx context.Context, bodies []string, delay time.Duration) error
	Receive(ctx context.Context, max int, wait time.Duration) ([]workqueue.Delivery, error)
	Delete(ctx context.Context, receiptHandles []string) error
	ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) (string, error)
}

// Visibility is the visibility timeout the harness must give its queues.
const Visibility = 30 * time.Second

// Env is one fresh, empty queue and the clock it lives by.
type Env struct {
	Queue Queue
	// Advance moves the queue's clock forward (visibility, delays).
	Advance func(time.Duration)
	// Now reads the queue's clock.
	Now func() time.Time
}

// MakeQueue returns a fresh Env; it registers its own cleanup with t.
type MakeQueue func(t *testing.T) Env

// Run runs every conformance case, each on a fresh queue.
func Run(t *testing.T, mk MakeQueue) {
	cases := []struct {
		name string
		fn   func(t *testing.T, e Env)
	}{
		{"SendReceiveDelete", testSendReceiveDelete},
		{"EmptyQueue", testEmptyQueue},
		{"EmptyInputs", testEmptyInputs},
		{"Redelivery", testRedelivery},
		{"StaleHandle", testStaleHandle},
		{"ExpiredHandle", testExpiredHandle},
		{"ChangeVisibility", testChangeVisibility},
		{"Delay", testDelay},
		{"Batches", testBatches},
		{"DeletePartial", testDeletePartial},
		{"Limits", testLimits},
		{"InvalidTaskSendsNothing", testInvalidTask},
		{"LongPollWakesOnSend", testLongPoll},
		{"ContextCancelled", testContextCancelled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, mk(t))
		})
	}
}

// Tasks returns n valid onboarding tasks with distinct IDs.
func Tasks(n int, now time.Time) []domain.Task {
	out := make([]domain.Task, n)
	for i := range out {
		out[i] = domain.NewOnboardTask("cn-hangzhou", fmt.Sprintf("i-conf%08d", i), "conformance", now)
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// MustReceive receives until n messages arrived (or fails the test after
// a few empty polls).
func MustReceive(tb testing.TB, q Queue, n int) []workqueue.Delivery {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []workqueue.Delivery
	for empty := 0; len(out) < n && empty < 3; {
		ds, err := q.Receive(ctx, min(16, n-len(out)), 0)
		if err != nil {
			tb.Fatalf("Receive: %v", err)
		}
		if len(ds) == 0 {
			empty++
			continue
		}
		out = append(out, ds...)
	}
	if len(out) != n {
		tb.Fatalf("received %d messages, want %d", len(out), n)
	}
	return out
}

func mustEmpty(tb testing.TB, q Queue) {
	tb.Helper()
	ds, err := q.Receive(context.Background(), 16, 0)
	if err != nil {
		tb.Fatalf("Receive: %v", err)
	}
	if ds != nil {
		tb.Fatalf("Receive on an empty queue = %d messages (%v), want nil", len(ds), bodies(ds))
	}
}

func bodies(ds []workqueue.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Body
	}
	sort.Strings(out)
	return out
}

func handles(ds []workqueue.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ReceiptHandle
	}
	return out
}

// wantKind checks err's kind, and that its text names every want string.
func wantKind(tb testing.TB, what string, err error, kind domain.Kind, names ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s: no error, want %s", what, kind)
	}
	if got := domain.KindOf(err); got != kind {
		tb.Fatalf("%s: kind %s, want %s (err: %v)", what, got, kind, err)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			tb.Errorf("%s: error does not name %q: %v", what, n, err)
		}
	}
}

// ItemErrors returns the per-item *domain.Error values wrapped in err.
func ItemErrors(err error) []*domain.Error {
	var out []*domain.Error
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
		if de, ok := e.(*domain.Error); ok && (strings.HasPrefix(de.Op, "task ") ||
			strings.HasPrefix(de.Op, "body #") || strings.HasPrefix(de.Op, "receipt handle ")) {
			out = append(out, de)
		}
	}
	walk(err)
	return out
}

func testSendReceiveDelete(t *testing.T, e Env) {
	ctx := ctxT(t)
	before := e.Now()
	tasks := Tasks(3, before)
	if err := e.Queue.SendTasks(ctx, tasks); err != nil {
		t.Fatalf("SendTasks: %v", err)
	}
	ds := MustReceive(t, e.Queue, 3)
	after := e.Now()
	ids := map[string]bool{}
	for _, d := range ds {
		task, err := domain.DecodeTask(d.Body)
		if err != nil {
			t.Fatalf("DecodeTask(%q): %v", d.Body, err)
		}
		ids[task.ID] = true
		if d.MessageID == "" || d.ReceiptHandle == "" {
			t.Errorf("delivery without ID or handle: %+v", d)
		}
		if d.DequeueCount != 1 {
			t.Errorf("DequeueCount = %d, want 1", d.DequeueCount)
		}
		if d.EnqueueTime.Before(before.Add(-time.Second)) || d.EnqueueTime.After(after.Add(time.Second)) {
			t.Errorf("EnqueueTime %s outside [%s, %s]", d.EnqueueTime, before, after)
		}
	}
	for _, task := range tasks {
		if !ids[task.ID] {
			t.Errorf("task %s not received", task.ID)
		}
	}
	if err := e.Queue.Delete(ctx, handles(ds)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	e.Advance(Visibility + time.Second)
	mustEmpty(t, e.Queue)
}

func testEmptyQueue(t *testing.T, e Env) {
	ctx := ctxT(t)
	ds, err := e.Queue.Receive(ctx, 16, 0)
	if err != nil || ds != nil {
		t.Fatalf("Receive(wait 0) = %v, %v; want nil, nil", ds, err)
	}
	start := time.Now()
	ds, err = e.Queue.Receive(ctx, 16, time.Second)
	if err != nil || ds != nil {
		t.Fatalf("Receive(wait 1s) = %v, %v; want nil, nil", ds, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("empty long poll of 1s took %s", el)
	}
}

func testEmptyInputs(t *testing.T, e Env) {
	ctx := ctxT(t)
	if err := e.Queue.SendTasks(ctx, nil); err != nil {
		t.Errorf("SendTasks(nil): %v", err)
	}
	if err := e.Queue.SendBodies(ctx, nil, 0); err != nil {
		t.Errorf("SendBodies(nil): %v", err)
	}
	if err := e.Queue.Delete(ctx, nil); err != nil {
		t.Errorf("Delete(nil): %v", err)
	}
	mustEmpty(t, e.Queue)
}

func testRedelivery(t *testing.T, e Env) {
	ctx := ctxT(t)
	if err := e.Queue.SendBodies(ctx, []string{"redeliver-me"}, 0); err != nil {
		t.Fatal(err)
	}
	first := MustReceive(t, e.Queue, 1)[0]
	mustEmpty(t, e.Queue) // invisible while the handle is valid
	e.Advance(Visibility - 2*time.Second)
	mustEmpty(t, e.Queue)
	e.Advance(3 * time.Second)
	second := MustReceive(t, e.Queue, 1)[0]
	if second.MessageID != first.MessageID || second.Body != first.Body {
		t.Fatalf("redelivered %+v, want message %s", second, first.MessageID)
	}
	if second.DequeueCount != 2 {
		t.Errorf("DequeueCount = %d, want 2", second.DequeueCount)
	}
	if second.ReceiptHandle == first.ReceiptHandle {
		t.Errorf("receipt handle reused across receives")
	}
	if !second.EnqueueTime.Equal(first.EnqueueTime) {
		t.Errorf("EnqueueTime changed: %s then %s", first.EnqueueTime, second.EnqueueTime)
	}
	if err := e.Queue.Delete(ctx, []string{second.ReceiptHandle}); err != nil {
		t.Fatalf("Delete(new handle): %v", err)
	}
}

func testStaleHandle(t *testing.T, e Env) {
	ctx := ctxT(t)
	if err := e.Queue.SendBodies(ctx, []string{"stale"}, 0); err != nil {
		t.Fatal(err)
	}
	first := MustReceive(t, e.Queue, 1)[0]
	e.Advance(Visibility + time.Second)
	second := MustReceive(t, e.Queue, 1)[0]
	err := e.Queue.Delete(ctx, []string{first.ReceiptHandle})
	wantKind(t, "Delete(stale handle)", err, domain.KindConflict, first.ReceiptHandle)
	if domain.CodeOf(err) != "ReceiptHandleError" {
		t.Errorf("code = %q, want ReceiptHandleError", domain.CodeOf(err))
	}
	if _, err := e.Queue.ChangeVisibility(ctx, first.ReceiptHandle, time.Minute); err == nil {
		t.Fatal("ChangeVisibility(stale handle) succeeded")
	} else {
		wantKind(t, "ChangeVisibility(stale handle)", err, domain.KindConflict)
	}
	// The stale delete did not remove the message: the new handle works.
	if err := e.Queue.Delete(ctx, []string{second.ReceiptHandle}); err != nil {
		t.Fatalf("Delete(new handle): %v", err)
	}
	e.Advance(Visibility + time.Second)
	mustEmpty(t, e.Queue)
}

func testExpiredHandle(t *testing.T, e Env) {
	ctx := ctxT(t)
	if err := e.Queue.SendBodies(ctx, []string{"expired"}, 0); err != nil {
		t.Fatal(err)
	}
	d := MustReceive(t, e.Queue, 1)[0]
	e.Advance(Visibility + time.Second)
	// Nobody received it again, but the handle's time is up: MNS refuses
	// it and the message is back.
	err := e.Queue.Delete(ctx, []string{d.ReceiptHandle})
	wantKind(t, "Delete(expired handle)", err, domain.KindConflict)
	again := MustReceive(t, e.Queue, 1)[0]
	if again.MessageID != d.MessageID {
		t.Fatalf("got %s, want the expired message %s back", again.MessageID, d.MessageID)
	}
}

func testChangeVisibility(t *testing.T, e Env) {
	ctx := ctxT(t)
	if err := e.Queue.SendBodies(ctx, []string{"slow work"}, 0); err != nil {
		t.Fatal(err)
	}
	d := MustReceive(t, e.Queue, 1)[0]
	h2, err := e.Queue.ChangeVisibility(ctx, d.ReceiptHandle, 2*time.Minute)
	if err != nil {
		t.Fatalf("ChangeVisibility: %v", err)
	}
	if h2 == "" || h2 == d.ReceiptHandle {
		t.Fatalf("ChangeVisibility returned handle %q, want a new one", h2)
	}
	e.Advance(Visibility + time.Second)
	mustEmpty(t, e.Queue) // the extension holds beyond the queue's timeout
	err = e.Queue.Delete(ctx, []string{d.ReceiptHandle})
	wantKind(t, "Delete(handle replaced by ChangeVisibility)", err, domain.KindConflict)
	// Shorten it again: visible after 1 s.
	h3, err := e.Queue.ChangeVisibility(ctx, h2, time.Second)
	if err != nil {
		t.Fatalf("ChangeVisibility(shorten): %v", err)
	}
	e.Advance(2 * time.Second)
	back := MustReceive(t, e.Queue, 1)[0]
	if back.MessageID != d.MessageID || back.DequeueCount != 2 {
		t.Fatalf("got %+v, want message %s with DequeueCount 2", back, d.MessageID)
	}
	if _, err := e.Queue.ChangeVisibility(ctx, h3, time.Minute); err == nil {
		t.Fatal("ChangeVisibility on a handle made stale by a new receive succeeded")
	}
	if err := e.Queue.Delete(ctx, []string{back.ReceiptHandle}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

func testDelay(t *testing.T, e Env) {
	ctx := ctxT(t)
	if err := e.Queue.SendBodies(ctx, []string{"later-1", "later-2"}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := e.Queue.SendBodies(ctx, []string{"now"}, 0); err != nil {
		t.Fatal(err)
	}
	got := MustReceive(t, e.Queue, 1)
	if got[0].Body != "now" {
		t.Fatalf("received %q before its delay passed", got[0].Body)
	}
	mustEmpty(t, e.Queue)
	e.Advance(11 * time.Second)
	later := MustReceive(t, e.Queue, 2)
	if b := bodies(later); b[0] != "later-1" || b[1] != "later-2" {
		t.Fatalf("after the delay got %v", b)
	}
}

func testBatches(t *testing.T, e Env) {
	ctx := ctxT(t)
	const n = 40 // three send batches, three receives, three delete batches
	if err := e.Queue.SendTasks(ctx, Tasks(n, e.Now())); err != nil {
		t.Fatalf("SendTasks(%d): %v", n, err)
	}
	var all []workqueue.Delivery
	for len(all) < n {
		ds, err := e.Queue.Receive(ctx, 16, 0)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(ds) == 0 {
			break
		}
		if len(ds) > 16 {
			t.Fatalf("Receive(16) returned %d", len(ds))
		}
		all = append(all, ds...)
	}
	seen := map[string]bool{}
	for _, d := range all {
		if seen[d.MessageID] {
			t.Errorf("message %s delivered twice while invisible", d.MessageID)
		}
		seen[d.MessageID] = true
	}
	if len(seen) != n {
		t.Fatalf("received %d distinct messages, want %d", len(seen), n)
	}
	if err := e.Queue.Delete(ctx, handles(all)); err != nil {
		t.Fatalf("Delete(%d handles): %v", len(all), err)
	}
	e.Advance(Visibility + time.Second)
	mustEmpty(t, e.Queue)
}

func testDeletePartial(t *testing.T, e Env) {
	ctx := ctxT(t)
	if err := e.Queue.SendBodies(ctx, []string{"a", "b", "c"}, 0); err != nil {
		t.Fatal(err)
	}
	ds := MustReceive(t, e.Queue, 3)
	// Make ds[0]'s handle stale by changing its visibility.
	if _, err := e.Queue.ChangeVisibility(ctx, ds[0].ReceiptHandle, time.Second); err != nil {
		t.Fatalf("ChangeVisibility: %v", err)
	}
	err := e.Queue.Delete(ctx, handles(ds))
	wantKind(t, "Delete with one stale handle", err, domain.KindConflict, ds[0].ReceiptHandle)
	items := ItemErrors(err)
	if len(items) != 1 || items[0].Op != "receipt handle "+ds[0].ReceiptHandle || items[0].Code != "ReceiptHandleError" {
		t.Errorf("item errors = %v, want one ReceiptHandleError for %s", items, ds[0].ReceiptHandle)
	}
	e.Advance(Visibility + time.Second)
	back := MustReceive(t, e.Queue, 1)
	if back[0].Body != ds[0].Body {
		t.Fatalf("got %q back, want only %q (the others were deleted)", back[0].Body, ds[0].Body)
	}
	mustEmpty(t, e.Queue)
}

func testLimits(t *testing.T, e Env) {
	ctx := ctxT(t)
	for _, tc := range []struct {
		name string
		n    int
		wait time.Duration
	}{
		{"max 0", 0, 0},
		{"max 17", 17, 0},
		{"negative wait", 1, -time.Second},
		{"wait 31s", 1, 31 * time.Second},
	} {
		_, err := e.Queue.Receive(ctx, tc.n, tc.wait)
		wantKind(t, "Receive "+tc.name, err, domain.KindInvalid)
	}
	for _, d := range []time.Duration{0, -time.Second, 12*time.Hour + time.Second} {
		_, err := e.Queue.ChangeVisibility(ctx, "some-handle", d)
		wantKind(t, fmt.Sprintf("ChangeVisibility(%s)", d), err, domain.KindInvalid)
	}
	wantKind(t, "SendBodies(negative delay)", e.Queue.SendBodies(ctx, []string{"x"}, -time.Second), domain.KindInvalid)
	wantKind(t, "SendBodies(8 days)", e.Queue.SendBodies(ctx, []string{"x"}, 8*24*time.Hour), domain.KindInvalid)
	wantKind(t, "SendBodies(empty body)", e.Queue.SendBodies(ctx, []string{"ok", ""}, 0), domain.KindInvalid, "body #1")
	wantKind(t, "SendBodies(oversize)", e.Queue.SendBodies(ctx, []string{strings.Repeat("x", 65537)}, 0), domain.KindInvalid, "body #0")
	wantKind(t, "SendBodies(NUL)", e.Queue.SendBodies(ctx, []string{"a\x00b"}, 0), domain.KindInvalid)
	wantKind(t, "Delete(empty handle)", e.Queue.Delete(ctx, []string{""}), domain.KindInvalid)
	mustEmpty(t, e.Queue) // nothing of the refused sends arrived
}

func testInvalidTask(t *testing.T, e Env) {
	ctx := ctxT(t)
	tasks := Tasks(3, e.Now())
	tasks[1].InstanceID = "not-an-instance"
	err := e.Queue.SendTasks(ctx, tasks)
	wantKind(t, "SendTasks with an invalid task", err, domain.KindInvalid, tasks[1].ID)
	mustEmpty(t, e.Queue)
}

func testLongPoll(t *testing.T, e Env) {
	ctx := ctxT(t)
	var wg sync.WaitGroup
	var got []workqueue.Delivery
	var rerr error
	var took time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		got, rerr = e.Queue.Receive(ctx, 16, 10*time.Second)
		took = time.Since(start)
	}()
	time.Sleep(200 * time.Millisecond)
	if err := e.Queue.SendBodies(ctx, []string{"wake up"}, 0); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if rerr != nil {
		t.Fatalf("Receive: %v", rerr)
	}
	if len(got) != 1 || got[0].Body != "wake up" {
		t.Fatalf("long poll got %v", bodies(got))
	}
	if took > 5*time.Second {
		t.Errorf("long poll returned after %s, want soon after the send", took)
	}
}

func testContextCancelled(t *testing.T, e Env) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Queue.SendBodies(ctx, []string{"x"}, 0); !errors.Is(err, context.Canceled) || domain.KindOf(err) != domain.KindCanceled {
		t.Errorf("SendBodies(cancelled ctx) = %v, want KindCanceled context.Canceled", err)
	}
	if _, err := e.Queue.Receive(ctx, 1, 0); !errors.Is(err, context.Canceled) || domain.KindOf(err) != domain.KindCanceled {
		t.Errorf("Receive(cancelled ctx) = %v, want KindCanceled context.Canceled", err)
	}
	if err := e.Queue.Delete(ctx, []string{"h"}); !errors.Is(err, context.Canceled) || domain.KindOf(err) != domain.KindCanceled {
		t.Errorf("Delete(cancelled ctx) = %v, want KindCanceled context.Canceled", err)
	}
	if _, err := e.Queue.ChangeVisibility(ctx, "h", time.Minute); !errors.Is(err, context.Canceled) || domain.KindOf(err) != domain.KindCanceled {
		t.Errorf("ChangeVisibility(cancelled ctx) = %v, want KindCanceled context.Canceled", err)
	}
	// A long poll is cut to fit the context's deadline: an empty answer,
	// in time.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel2()
	start := time.Now()
	ds, err := e.Queue.Receive(ctx2, 1, 10*time.Second)
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("Receive outlived its context's deadline (took %s)", el)
	}
	if err != nil || ds != nil {
		t.Errorf("Receive near the deadline = %v, %v; want nil, nil", bodies(ds), err)
	}
	// A long poll cancelled midway returns at once with the context error.
	ctx3, cancel3 := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel3)
	start = time.Now()
	_, err = e.Queue.Receive(ctx3, 1, 10*time.Second)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("cancelled Receive returned after %s", el)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Receive = %v, want context.Canceled", err)
	}
}

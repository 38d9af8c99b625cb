package mnsemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

func TestGoAPI_Lifecycle(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	svc := f.svc
	ctx := context.Background()
	if err := svc.CreateQueue("tasks", mnsemu.QueueAttributes{VisibilityTimeout: 60}); err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	if err := svc.CreateQueue("tasks", mnsemu.QueueAttributes{VisibilityTimeout: 60}); err != nil {
		t.Fatalf("CreateQueue identical: %v", err)
	}
	if err := svc.CreateQueue("tasks", mnsemu.QueueAttributes{}); !mnsemu.IsCode(err, mnsemu.CodeQueueAlreadyExist) {
		t.Fatalf("CreateQueue different: %v", err)
	}

	id, err := svc.Send("tasks", "t1", 0, 3)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs, err := svc.Receive(ctx, "tasks", 16, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Receive = %+v, %v", msgs, err)
	}
	m := msgs[0]
	if m.ID != id || m.Body != "t1" || m.DequeueCount != 1 || m.Priority != 3 ||
		m.NextVisibleTime.Sub(m.FirstDequeueTime) != 60*time.Second || m.ReceiptHandle == "" {
		t.Fatalf("Receive message = %+v", m)
	}

	h2, err := svc.ChangeVisibility("tasks", m.ReceiptHandle, 1500*time.Millisecond)
	if err != nil || h2 == m.ReceiptHandle {
		t.Fatalf("ChangeVisibility = %q, %v", h2, err)
	}
	if err := svc.Delete("tasks", m.ReceiptHandle); !mnsemu.IsCode(err, mnsemu.CodeReceiptHandleError) {
		t.Fatalf("Delete with old handle: %v", err)
	}
	f.env.Clock.Advance(2 * time.Second) // rounded up to 2 s: visible again
	again, err := svc.Receive(ctx, "tasks", 1, 0)
	if err != nil || again[0].DequeueCount != 2 {
		t.Fatalf("Receive after ChangeVisibility = %+v, %v", again, err)
	}

	// The same message through the SDK: a handle from the Go API deletes it.
	if err := ali_mns.NewMNSQueue("tasks", f.client).DeleteMessage(again[0].ReceiptHandle); err != nil {
		t.Fatalf("SDK DeleteMessage of a Go API handle: %v", err)
	}
	if _, err := svc.Receive(ctx, "tasks", 1, 0); !mnsemu.IsCode(err, mnsemu.CodeMessageNotExist) {
		t.Fatalf("Receive on empty queue: %v", err)
	}
}

func TestGoAPI_Errors(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	svc := f.svc
	ctx := context.Background()
	if err := svc.CreateQueue("bad_name", mnsemu.QueueAttributes{}); !mnsemu.IsCode(err, mnsemu.CodeInvalidQueueName) {
		t.Fatalf("CreateQueue bad name: %v", err)
	}
	if _, err := svc.Send("nope", "x", 0, 0); !mnsemu.IsCode(err, mnsemu.CodeQueueNotExist) {
		t.Fatalf("Send to missing queue: %v", err)
	}
	if err := svc.CreateQueue("q", mnsemu.QueueAttributes{DelaySeconds: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Receive(ctx, "q", 17, 0); !mnsemu.IsCode(err, mnsemu.CodeInvalidArgument) {
		t.Fatalf("Receive 17: %v", err)
	}
	if _, err := svc.Send("q", "x", 0, 99); !mnsemu.IsCode(err, mnsemu.CodeInvalidArgument) {
		t.Fatalf("Send priority 99: %v", err)
	}
	if _, err := svc.ChangeVisibility("q", "1-eA==", 0); !mnsemu.IsCode(err, mnsemu.CodeInvalidArgument) {
		t.Fatalf("ChangeVisibility 0: %v", err)
	}
	// A negative delay takes the queue's DelaySeconds.
	if _, err := svc.Send("q", "x", -1, 0); err != nil {
		t.Fatal(err)
	}
	if st := svc.Snapshot().Queues[0].Messages[0].State; st != mnsemu.StateDelayed {
		t.Fatalf("state = %s, want Delayed", st)
	}

	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := svc.Receive(cctx, "q", 1, 10*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive with ending ctx: %v", err)
	}
	start := time.Now()
	if _, err := svc.Receive(ctx, "q", 1, 200*time.Millisecond); !mnsemu.IsCode(err, mnsemu.CodeMessageNotExist) {
		t.Fatalf("Receive timeout: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("Receive returned after %v, want about 200ms", d)
	}
}

func TestGoAPI_LongPollWakesOnSend(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	if err := f.svc.CreateQueue("q", mnsemu.QueueAttributes{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan []mnsemu.Message)
	go func() {
		msgs, _ := f.svc.Receive(context.Background(), "q", 4, 10*time.Second)
		done <- msgs
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := f.svc.Send("q", "wake", 0, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case msgs := <-done:
		if len(msgs) != 1 || msgs[0].Body != "wake" {
			t.Fatalf("Receive = %+v", msgs)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("long poll did not wake on Send")
	}
}

func TestAdminHandler_Snapshot(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")
	mustSend(t, q, "active")
	mustSend(t, q, "inactive")
	if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "delayed", DelaySeconds: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Receive(context.Background(), "jobs", 1, 0); err != nil { // takes "active"
		t.Fatal(err)
	}

	admin := httptest.NewServer(http.StripPrefix("/_admin/mns", f.svc.AdminHandler()))
	defer admin.Close()
	resp, err := http.Get(admin.URL + "/_admin/mns/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap mnsemu.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatalf("decode snapshot: %v", err)
	}
	if len(snap.Queues) != 1 {
		t.Fatalf("snapshot queues = %+v", snap.Queues)
	}
	qs := snap.Queues[0]
	var states []string
	for _, m := range qs.Messages {
		states = append(states, fmt.Sprintf("%s:%s:%d", m.Body, m.State, m.DequeueCount))
	}
	want := fmt.Sprint([]string{"active:Inactive:1", "inactive:Active:0", "delayed:Delayed:0"})
	if fmt.Sprint(states) != want || qs.ActiveMessages != 1 || qs.InactiveMessages != 1 || qs.DelayMessages != 1 || qs.Sent != 3 {
		t.Fatalf("snapshot = %v %+v, want %s", states, qs, want)
	}
	if r, _ := http.Get(admin.URL + "/_admin/mns/other"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown admin path: %d", r.StatusCode)
	}
}

// TestConcurrent_AtMostOnceWithinVisibility races HTTP and Go API consumers
// over one queue: with a long visibility timeout every message is delivered
// exactly once and the queue ends empty.
func TestConcurrent_AtMostOnceWithinVisibility(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	f.mustCreateQueue(t, "race", ali_mns.WithVisibilityTimeout(600))
	const producers, perProducer = 4, 50
	var seen sync.Map
	var dupes, consumed atomic.Int64
	record := func(id string) {
		if _, loaded := seen.LoadOrStore(id, true); loaded {
			dupes.Add(1)
		}
		consumed.Add(1)
	}

	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := ali_mns.NewMNSQueue("race", f.client) // the SDK's QPS monitor is not goroutine-safe
			for i := range perProducer {
				body := fmt.Sprintf("p%d-%d", p, i)
				if p%2 == 0 {
					if _, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: body}); err != nil {
						t.Error(err)
					}
				} else if _, err := f.svc.Send("race", body, 0, i%16+1); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	stop := make(chan struct{})
	var cwg sync.WaitGroup
	for c := range 4 {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			q := ali_mns.NewMNSQueue("race", f.client)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c%2 == 0 {
					resp, err := batchReceive(q, 8, 1)
					if err != nil {
						continue
					}
					var hs []string
					for _, m := range resp.Messages {
						record(m.MessageId)
						hs = append(hs, m.ReceiptHandle)
					}
					if _, err := q.BatchDeleteMessage(hs...); err != nil {
						t.Errorf("BatchDeleteMessage: %v", err)
					}
					continue
				}
				msgs, err := f.svc.Receive(context.Background(), "race", 8, 200*time.Millisecond)
				if err != nil {
					continue
				}
				for _, m := range msgs {
					record(m.ID)
					if err := f.svc.Delete("race", m.ReceiptHandle); err != nil {
						t.Errorf("Delete: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for consumed.Load() < producers*perProducer && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	cwg.Wait()
	if consumed.Load() != producers*perProducer || dupes.Load() != 0 {
		t.Fatalf("consumed %d (dupes %d), want %d once each", consumed.Load(), dupes.Load(), producers*perProducer)
	}
	qs := f.svc.Snapshot().Queues[0]
	if len(qs.Messages) != 0 || qs.Deleted != producers*perProducer {
		t.Fatalf("queue not drained: %+v", qs)
	}
}

func TestGoAPI_DeleteQueueEndsLongPoll(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	f.mustCreateQueue(t, "doomed")
	errCh := make(chan error, 1)
	go func() {
		_, err := f.svc.Receive(context.Background(), "doomed", 1, 10*time.Second)
		errCh <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := f.qm.DeleteQueue("doomed"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errCh:
		if !mnsemu.IsCode(err, mnsemu.CodeQueueNotExist) {
			t.Fatalf("Receive on deleted queue: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("long poll outlived its queue")
	}
}

package onboard_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

func pushedFrom(ds []workqueue.Delivery) []worker.PushedMessage {
	out := make([]worker.PushedMessage, len(ds))
	for i, d := range ds {
		out[i] = worker.PushedMessage{MessageID: d.MessageID, Body: d.Body}
	}
	return out
}

// The queue-worker in push mode, over the fake ECS and fake MNS queues: a
// Pending instance is re-enqueued with a delay and joined on its second
// attempt; an instance over its group limit is dead-lettered untouched.
func TestPushMode_PendingRequeuedThenJoined(t *testing.T) {
	clock := fake.NewClock(time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC))
	ecs := fake.NewECS()
	web := ecs.AddGroup(roleGroup(vpcA, "web"))
	ecs.AddGroup(roleGroup(vpcA, "db"))
	pending := vpcInstance(vpcA, "web")
	pending.Status = domain.StatusPending
	p := ecs.AddInstance(pending)
	full := ecs.AddInstance(vpcInstance(vpcA, "web,db"))
	ecs.SetGroupLimit(full, 1)

	queue := fake.NewQueue(fake.QueueOptions{Name: "work", Now: clock.Now})
	dlq := fake.NewQueue(fake.QueueOptions{Name: "dlq", Now: clock.Now})
	ob := mustOnboarder(t, ecs, onboard.Options{GroupLimit: 1, NotReadyDelay: 10 * time.Second, StartingDelay: 10 * time.Second})
	w, err := worker.New(queue, dlq, map[domain.TaskKind]task.Handler{domain.TaskOnboard: ob}, worker.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := queue.SendTasks(ctx, tasksFor(p, full)); err != nil {
		t.Fatal(err)
	}
	// The trigger takes the messages off the queue and hands them over.
	first, err := queue.Receive(ctx, 16, 0)
	if err != nil || len(first) != 2 {
		t.Fatalf("receive: %v, %d messages", err, len(first))
	}
	if err := queue.Delete(ctx, []string{first[0].ReceiptHandle, first[1].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}

	sum, err := w.HandlePushed(ctx, pushedFrom(first))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Retried != 1 || sum.DeadLettered[string(domain.ReasonOverLimit)] != 1 {
		t.Errorf("first pass: %+v", sum)
	}
	if ds, _ := queue.Receive(ctx, 16, 0); len(ds) != 0 {
		t.Fatalf("the retry came back before its delay: %+v", ds)
	}

	clock.Advance(11 * time.Second)
	ecs.SetStatus(p, domain.StatusRunning)
	second, err := queue.Receive(ctx, 16, 0)
	if err != nil || len(second) != 1 {
		t.Fatalf("receive after delay: %v, %d messages", err, len(second))
	}
	again, _ := domain.DecodeTask(second[0].Body)
	if again.Attempt != 2 || again.InstanceID != p {
		t.Errorf("re-enqueued task %+v", again)
	}
	sum, err = w.HandlePushed(ctx, pushedFrom(second))
	if err != nil || sum.Done != 1 {
		t.Fatalf("second pass: %+v, %v", sum, err)
	}
	if diff := cmp.Diff([]string{web}, groupsOf(t, ecs, p)); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if g := groupsOf(t, ecs, full); len(g) != 0 {
		t.Errorf("over-limit instance was changed: %v", g)
	}

	dead, _ := dlq.Receive(ctx, 16, 0)
	if len(dead) != 1 {
		t.Fatalf("DLQ holds %d records", len(dead))
	}
	var rec deadletter.Record
	if err := json.Unmarshal([]byte(dead[0].Body), &rec); err != nil {
		t.Fatal(err)
	}
	orig, _ := domain.DecodeTask(rec.OriginalBody)
	if rec.Reason != string(domain.ReasonOverLimit) || rec.Subject != full || orig.InstanceID != full {
		t.Errorf("dead letter %+v", rec)
	}
}

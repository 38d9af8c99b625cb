package onboard_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/onboard"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

// pushWorker runs ob under a worker in push mode over fake queues.
func pushWorker(t *testing.T, ob *onboard.Onboarder, concurrency int) (*worker.Worker, *fake.Queue) {
	t.Helper()
	work, dlq := fake.NewQueue(fake.QueueOptions{Name: "work"}), fake.NewQueue(fake.QueueOptions{Name: "dlq"})
	w, err := worker.New(work, dlq, map[domain.TaskKind]task.Handler{domain.TaskOnboard: ob},
		worker.Options{Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	return w, work
}

func pushed(t *testing.T, tasks []domain.Task) []worker.PushedMessage {
	t.Helper()
	out := make([]worker.PushedMessage, len(tasks))
	for i, tk := range tasks {
		body, err := domain.EncodeTask(tk)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = worker.PushedMessage{MessageID: tk.ID, Body: body}
	}
	return out
}

// The worker, not the onboarder, bounds how many instances are joined at once.
func TestHandle_WorkerBoundsConcurrency(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddGroup(roleGroup(vpcA, "web"))
	var ids []string
	for i := 0; i < 24; i++ {
		ids = append(ids, ecs.AddInstance(vpcInstance(vpcA, "web")))
	}
	var inflight, peak atomic.Int32
	ecs.SetInterceptor(func(_ context.Context, method string, _ []any) error {
		if method == "JoinGroup" {
			n := inflight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			inflight.Add(-1)
		}
		return nil
	})
	w, _ := pushWorker(t, mustOnboarder(t, ecs, onboard.Options{}), 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sum, err := w.HandlePushed(ctx, pushed(t, tasksFor(ids...)))
	if err != nil || sum.Done != 24 {
		t.Fatalf("HandlePushed = %+v, %v; want 24 done", sum, err)
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrent joins %d, want 2..3", p)
	}
	if n := ecs.Calls("DescribeInstances"); n != 2 {
		t.Errorf("DescribeInstances calls = %d, want 1 shared by the batch and 1 to check its writes", n)
	}
	if n := ecs.Calls("ListGroups"); n != 1 {
		t.Errorf("ListGroups calls = %d, want 1 shared by the VPC", n)
	}
}

// A panic in one instance's join is recovered by the worker: that task gets
// a handler-panic retry, the others their own outcomes, and the summary
// tells the function to exit after responding.
func TestHandle_PanicInAJoinIsRecovered(t *testing.T) {
	ecs := fake.NewECS()
	ecs.AddGroup(roleGroup(vpcA, "web"))
	good := ecs.AddInstance(vpcInstance(vpcA, "web"))
	bad := ecs.AddInstance(vpcInstance(vpcA, "web"))
	ecs.SetInterceptor(func(_ context.Context, method string, args []any) error {
		if method == "JoinGroup" && len(args) > 1 && args[1] == bad {
			panic("injected: join blew up")
		}
		return nil
	})
	w, work := pushWorker(t, mustOnboarder(t, ecs, onboard.Options{}), 4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	sum, err := w.HandlePushed(ctx, pushed(t, tasksFor(good, bad)))

	if err != nil {
		t.Fatalf("HandlePushed: %v", err)
	}
	if !sum.Panicked {
		t.Error("Summary.Panicked = false: the process would be reused after a panic")
	}
	if sum.Done != 1 || sum.Retried != 1 {
		t.Errorf("summary %+v, want the good instance done and the bad one retried", sum)
	}
	if g, _ := ecs.Instance(good); len(g.GroupIDs) != 1 {
		t.Errorf("good instance groups %v, want joined", g.GroupIDs)
	}
	snap := work.Snapshot()
	if len(snap.Messages) != 1 || !strings.Contains(snap.Messages[0].Body, bad) {
		t.Fatalf("re-enqueued %+v, want the panicking instance's task", snap.Messages)
	}
	again, err := domain.DecodeTask(snap.Messages[0].Body)
	if err != nil || again.Attempt != 2 {
		t.Errorf("re-enqueued task %+v, %v; want attempt 2", again, err)
	}
}

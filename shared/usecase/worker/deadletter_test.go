package worker_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/deadletter"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/task"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
	"github.com/sgpilot/sgpilot/shared/usecase/worker"
)

func refused() error {
	return domain.Errorf(domain.KindInvalid, "body", "InvalidArgument", "refused")
}

func isMinimal(body string) bool { return strings.Contains(body, `"minimal":true`) }

// A dead-letter batch that fails falls back to one-by-one sends of the
// records it did not take, and a record refused alone to its minimal form;
// only a queue that refuses even that fails the invocation.
func TestHandlePushed_DeadLetterFallback(t *testing.T) {
	batch := func(c fake.QueueCall) bool { return c.Op == fake.QueueOpSend && len(c.Items) > 1 }
	single := func(c fake.QueueCall) bool { return c.Op == fake.QueueOpSend && len(c.Items) == 1 }
	tests := []struct {
		name        string
		fault       func(fake.QueueCall) fake.QueueFault
		wantCalls   int // send calls to the DLQ
		wantMinimal int
		wantFailed  int
	}{
		{"no fault", nil, 1, 0, 0},
		{"one record refused in the batch", func(c fake.QueueCall) fake.QueueFault {
			if batch(c) {
				return fake.QueueFault{ItemErrs: map[int]error{1: refused()}}
			}
			return fake.QueueFault{}
		}, 2, 0, 0},
		{"whole batch throttled, singles accepted", func(c fake.QueueCall) fake.QueueFault {
			if batch(c) {
				return fake.QueueFault{Err: fake.QueueThrottled()}
			}
			return fake.QueueFault{}
		}, 4, 0, 0},
		{"record refused alone too: minimal record", func(c fake.QueueCall) fake.QueueFault {
			if batch(c) {
				return fake.QueueFault{ItemErrs: map[int]error{2: refused()}}
			}
			if single(c) && !isMinimal(c.Items[0]) {
				return fake.QueueFault{Err: refused()}
			}
			return fake.QueueFault{}
		}, 3, 1, 0},
		{"queue down: stop after the first minimal record fails", func(c fake.QueueCall) fake.QueueFault {
			return fake.QueueFault{Err: domain.Errorf(domain.KindNotFound, "send", "QueueNotExist", "gone")}
		}, 3, 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, always(task.DeadLetter, domain.ReasonNoRoleGroup), worker.Options{})
			r.dlq.fault = tc.fault
			msgs := pushed(mustTask(t, 0), mustTask(t, 1), mustTask(t, 2))

			sum, err := r.w.HandlePushed(context.Background(), msgs)

			if (err != nil) != (tc.wantFailed > 0) {
				t.Errorf("err = %v, want failure %v", err, tc.wantFailed > 0)
			}
			if got := len(r.dlq.callsOf(fake.QueueOpSend)); got != tc.wantCalls {
				t.Errorf("%d send calls, want %d", got, tc.wantCalls)
			}
			if sum.DeadLetterMinimal != tc.wantMinimal || sum.DeadLetterFailed != tc.wantFailed ||
				sum.DeadLettered[string(domain.ReasonNoRoleGroup)] != 3-tc.wantFailed {
				t.Errorf("summary %+v", sum)
			}
			// What is on the DLQ is one record per message, full or minimal,
			// each with the record ID of its instance and reason.
			ids := map[string]bool{}
			minimal := 0
			for _, m := range r.dlq.Snapshot().Messages {
				l := deadletter.Read(m.ID, m.Body)
				ids[l.ID] = true
				if l.Record.Minimal {
					minimal++
				}
			}
			if len(ids) != 3-tc.wantFailed || minimal != tc.wantMinimal {
				t.Errorf("DLQ holds %d distinct records (%d minimal)", len(ids), minimal)
			}
			for i, m := range msgs[:3-tc.wantFailed] {
				task, err := domain.DecodeTask(m.Body)
				if err != nil {
					t.Fatal(err)
				}
				id := deadletter.SubjectID(string(task.Kind), task.RegionID, task.Subject(), string(domain.ReasonNoRoleGroup))
				if !ids[id] && tc.wantFailed == 0 {
					t.Errorf("no record %s for message %d", id, i)
				}
			}
		})
	}
}

// A malformed pushed message is dead-lettered on its own, with its reason;
// the others go on, and the invocation succeeds. Pushing the same batch
// again writes records with the same IDs.
func TestHandlePushed_MalformedMessagesAlone(t *testing.T) {
	r := newRig(t, always(task.Done, "complete"), worker.Options{})
	msgs := []worker.PushedMessage{
		{MessageID: "m1", Body: mustTask(t, 0)},
		{MessageID: "m2", Body: `{"id":"ev-2","data":{"messageId":"m2","messageBody":null}}`,
			Err: domain.Errorf(domain.KindInvalid, "parse queue event ev-2", "", "message m2 has no messageBody")},
		{MessageID: "m3", Body: "not json"},
		{MessageID: "m4", Body: mustTask(t, 1)},
		{MessageID: "m5", Body: `{"v":1,"kind":"reboot","id":"x","region":"cn-hangzhou","enqueuedAt":"2024-05-01T00:00:00Z"}`},
		{MessageID: "m6", Body: `{"v":1,"kind":"onboard","id":"` + strings.Repeat("x", 9000) + `"}`},
	}
	var firstIDs []string
	for round := 0; round < 2; round++ {
		r.dlq.resetCalls()
		sum, err := r.w.HandlePushed(context.Background(), msgs)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Done != 2 || sum.Invalid != 4 || sum.DeadLettered[string(task.ReasonInvalidTask)] != 4 {
			t.Errorf("round %d: summary %+v", round, sum)
		}
		var ids []string
		for _, b := range r.dlq.sentBodies() {
			var rec deadletter.Record
			if err := json.Unmarshal([]byte(b), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Reason != string(task.ReasonInvalidTask) || rec.Detail == "" || rec.BodySHA256 == "" {
				t.Errorf("record %+v", rec)
			}
			ids = append(ids, rec.ID)
		}
		if round == 0 {
			firstIDs = ids
			want := []string{deadletter.ID("m2", msgs[1].Body), deadletter.ID("m3", msgs[2].Body),
				deadletter.ID("m5", msgs[4].Body), deadletter.ID("m6", msgs[5].Body)}
			if strings.Join(ids, ",") != strings.Join(want, ",") {
				t.Errorf("records %v, want those of m2, m3, m5, m6 %v", ids, want)
			}
			bodies := strings.Join(r.dlq.sentBodies(), "\n")
			for _, why := range []string{"no messageBody", "not a task", "unknown task kind", "larger than"} {
				if !strings.Contains(bodies, why) {
					t.Errorf("no record says %q", why)
				}
			}
		} else if strings.Join(ids, ",") != strings.Join(firstIDs, ",") {
			t.Errorf("record IDs changed on redelivery: %v then %v", firstIDs, ids)
		}
	}
}

// Bodies that grow when JSON-escaped used to make records over the MNS
// limit, which refused the whole chunk and stopped every drain there.
func TestDrain_HugeEscapingBodiesDeadLettered(t *testing.T) {
	r := newRig(t, always(task.Done, ""), worker.Options{})
	for _, b := range []string{strings.Repeat(`"`, 65536), strings.Repeat(`\"<>&`, 65536/5), strings.Repeat("\t", 65536)} {
		r.queue.seed(t, b)
	}
	enqueue(t, r.queue, 1)

	sum := mustDrain(t, r, worker.DrainOptions{})

	if sum.Done != 1 || sum.DeadLettered[string(task.ReasonInvalidTask)] != 3 || sum.DeadLetterMinimal != 0 || r.queue.len() != 0 {
		t.Errorf("summary %+v, %d left on the queue", sum, r.queue.len())
	}
	for _, m := range r.dlq.Snapshot().Messages {
		if len(m.Body) > deadletter.MaxRecordBytes {
			t.Errorf("record of %d bytes", len(m.Body))
		}
	}
}

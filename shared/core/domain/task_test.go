package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

func TestTaskRoundTrip(t *testing.T) {
	for _, task := range []domain.Task{
		domain.NewOnboardTask("cn-hangzhou", "i-bp1abcdefghijklmnop", "evt-1", now),
		domain.NewDeleteGroupTask("cn-hangzhou", "sg-bp1abcdefghijklmno", "2026-11-01", "run-1", now),
	} {
		body, err := domain.EncodeTask(task)
		if err != nil {
			t.Fatal(err)
		}
		got, err := domain.DecodeTask(body)
		if err != nil {
			t.Fatal(err)
		}
		if got != task {
			t.Fatalf("round trip: got %+v want %+v", got, task)
		}
	}
}

func TestDecodeTask_Rejects(t *testing.T) {
	tests := map[string]string{
		"not json":       "hello",
		"unknown field":  `{"v":1,"kind":"onboard","id":"x","region":"cn-hangzhou","instanceId":"i-bp1abcdefghijklmnop","enqueuedAt":"2026-11-25T00:00:00Z","extra":1}`,
		"future version": `{"v":2,"kind":"onboard","id":"x","region":"cn-hangzhou","instanceId":"i-bp1abcdefghijklmnop","enqueuedAt":"2026-11-25T00:00:00Z"}`,
		"bad instance":   `{"v":1,"kind":"onboard","id":"x","region":"cn-hangzhou","instanceId":"I-NOPE","enqueuedAt":"2026-11-25T00:00:00Z"}`,
		"bad region":     `{"v":1,"kind":"onboard","id":"x","region":"Hangzhou!","instanceId":"i-bp1abcdefghijklmnop","enqueuedAt":"2026-11-25T00:00:00Z"}`,
		"unknown kind":   `{"v":1,"kind":"reboot","id":"x","region":"cn-hangzhou","enqueuedAt":"2026-11-25T00:00:00Z"}`,
		"trailing":       `{"v":1,"kind":"onboard","id":"x","region":"cn-hangzhou","instanceId":"i-bp1abcdefghijklmnop","enqueuedAt":"2026-11-25T00:00:00Z"} {}`,
		"oversized":      strings.Repeat(" ", domain.MaxTaskBytes+1),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := domain.DecodeTask(body); domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("err = %v, want KindInvalid", err)
			}
		})
	}
}

func FuzzDecodeTask(f *testing.F) {
	body, _ := domain.EncodeTask(domain.NewOnboardTask("cn-hangzhou", "i-bp1abcdefghijklmnop", "evt", time.Unix(0, 0)))
	f.Add(body)
	f.Add(`{"v":1}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		task, err := domain.DecodeTask(s)
		if err == nil {
			if verr := task.Validate(); verr != nil {
				t.Fatalf("decoded an invalid task: %v", verr)
			}
		}
	})
}

// One maximum for both ends of the queue: what EncodeTask writes, DecodeTask
// reads, and a task too large for the worker is never written.
func TestEncodeTask_SizeLimit(t *testing.T) {
	at := time.Unix(0, 0)
	base := domain.NewOnboardTask("cn-hangzhou", "i-bp1abcdefghijklmnop", "", at)
	body, err := domain.EncodeTask(base)
	if err != nil {
		t.Fatal(err)
	}
	room := domain.MaxTaskBytes - len(body)
	tests := []struct {
		name    string
		cause   string
		wantErr bool
	}{
		// The cause shows up twice: in the ID and in the cause field, plus its key.
		{"just under the limit", strings.Repeat("e", (room-len(`,"cause":""`)-1)/2), false},
		{"over the limit", strings.Repeat("e", room), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := domain.EncodeTask(domain.NewOnboardTask("cn-hangzhou", "i-bp1abcdefghijklmnop", tc.cause, at))
			if tc.wantErr {
				if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), "maximum") {
					t.Fatalf("err = %v, want KindInvalid naming the maximum", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := domain.DecodeTask(body); err != nil {
				t.Fatalf("a task EncodeTask wrote (%d bytes) does not decode: %v", len(body), err)
			}
		})
	}
}

// The split tasks of the role policy and the backfill survive the queue,
// and a task missing its checkpoint, or carrying another kind's, is refused.
func TestSplitTasks(t *testing.T) {
	rn := domain.NewRolesNetworkTask("cn-hangzhou", "vpc-bp1abcdefgh", "abc123", "roles-1", now)
	classic := domain.NewRolesNetworkTask("cn-hangzhou", "", "abc123", "roles-1", now)
	page := domain.NewReconcilePageTask("cn-hangzhou", "tok-1", "reconcile-1", 2, now)
	for _, task := range []domain.Task{rn, classic, page} {
		body, err := domain.EncodeTask(task)
		if err != nil {
			t.Fatal(err)
		}
		got, err := domain.DecodeTask(body)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != task.ID || got.Subject() != task.Subject() || (got.RolesNet == nil) != (task.RolesNet == nil) ||
			(got.Reconcile == nil) != (task.Reconcile == nil) {
			t.Fatalf("round trip: got %+v want %+v", got, task)
		}
	}
	if rn.Subject() == classic.Subject() {
		t.Error("a VPC and the classic network share a subject")
	}
	next := domain.NewReconcilePageTask("cn-hangzhou", "tok-2", "reconcile-1", 3, now)
	if next.Subject() == page.Subject() || next.ID == page.ID {
		t.Error("two parts of a backfill share a subject or an ID")
	}
	for name, mutate := range map[string]func(*domain.Task){
		"roles without network": func(t *domain.Task) { *t = rn; t.RolesNet = nil },
		"roles without hash":    func(t *domain.Task) { *t = rn; t.RolesNet = &domain.RolesNetwork{VPCID: "vpc-bp1abcdefgh"} },
		"roles bad vpc":         func(t *domain.Task) { *t = rn; t.RolesNet = &domain.RolesNetwork{VPCID: "nope", PolicyHash: "x"} },
		"page without token":    func(t *domain.Task) { *t = page; t.Reconcile = &domain.ReconcilePage{} },
		"page token too long": func(t *domain.Task) {
			*t = page
			t.Reconcile = &domain.ReconcilePage{Token: strings.Repeat("x", domain.MaxPageTokenBytes+1)}
		},
		"onboard with token": func(t *domain.Task) {
			*t = domain.NewOnboardTask("cn-hangzhou", "i-bp1abcdefghijklmnop", "e", now)
			t.Reconcile = &domain.ReconcilePage{Token: "x"}
		},
		"onboard with network": func(t *domain.Task) {
			*t = domain.NewOnboardTask("cn-hangzhou", "i-bp1abcdefghijklmnop", "e", now)
			t.RolesNet = &domain.RolesNetwork{PolicyHash: "x"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			var task domain.Task
			mutate(&task)
			if err := task.Validate(); domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("err = %v, want KindInvalid", err)
			}
		})
	}
}

package mnsqueue_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/adapter/mnsqueue"
	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
	"github.com/sgpilot/sgpilot/shared/testkit/queuetest"
)

const (
	testAccount  = "1234567890123456"
	testEndpoint = "http://" + testAccount + ".mns.cn-hangzhou.aliyuncs.com"
	testAKID     = "LTAImnsqueuetest"
	testSecret   = "mnsqueue-test-secret"
)

// emulator is one localcloud MNS behind a real HTTP listener.
type emulator struct {
	env  *core.Env
	svc  *mnsemu.Service
	addr string // host:port for Config.DialAddress
}

func newEmulator(tb testing.TB) *emulator {
	tb.Helper()
	env := core.NewEnv(testAccount, 1)
	env.Credentials.AddAccessKey(testAKID, testSecret)
	svc := mnsemu.New(env, mnsemu.Options{MaxLongPoll: 3 * time.Second})
	srv := httptest.NewServer(svc)
	tb.Cleanup(srv.Close)
	tb.Cleanup(svc.Close) // runs first: ends long polls so Close does not wait
	return &emulator{env: env, svc: svc, addr: strings.TrimPrefix(srv.URL, "http://")}
}

// fastRetry retries quickly, so fault tests stay short.
func fastRetry() retry.Policy {
	return retry.Policy{MaxAttempts: 8, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
}

func (e *emulator) config(queue string) mnsqueue.Config {
	return mnsqueue.Config{
		Endpoint:    testEndpoint,
		DialAddress: e.addr,
		Queue:       queue,
		Credentials: cloudauth.Credentials{AccessKeyID: testAKID, AccessKeySecret: testSecret},
		Retry:       fastRetry(),
	}
}

// mustQueue returns an adapter for queue, creating the queue first.
func (e *emulator) mustQueue(tb testing.TB, cfg mnsqueue.Config) *mnsqueue.Queue {
	tb.Helper()
	q, err := mnsqueue.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if err := q.EnsureQueue(context.Background(), mnsqueue.QueueAttributes{VisibilityTimeout: queuetest.Visibility}); err != nil {
		tb.Fatalf("EnsureQueue: %v", err)
	}
	return q
}

func TestQueue_ConformanceAgainstEmulator(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Env {
		e := newEmulator(t)
		q := e.mustQueue(t, e.config("sg-work"))
		return queuetest.Env{Queue: q, Advance: e.env.Clock.Advance, Now: e.env.Clock.Now}
	})
}

func TestEnsureQueue(t *testing.T) {
	e := newEmulator(t)
	ctx := context.Background()
	q, err := mnsqueue.New(e.config("setup-q"))
	if err != nil {
		t.Fatal(err)
	}
	attrs := mnsqueue.QueueAttributes{VisibilityTimeout: time.Minute, Retention: 24 * time.Hour}
	for i := 0; i < 2; i++ { // the second call meets the same queue: success
		if err := q.EnsureQueue(ctx, attrs); err != nil {
			t.Fatalf("EnsureQueue #%d: %v", i+1, err)
		}
	}
	err = q.EnsureQueue(ctx, mnsqueue.QueueAttributes{VisibilityTimeout: 2 * time.Minute})
	if domain.KindOf(err) != domain.KindConflict || domain.CodeOf(err) != "QueueAlreadyExist" {
		t.Fatalf("EnsureQueue(other attributes) = %v, want conflict QueueAlreadyExist", err)
	}
}

func TestQueue_MissingQueueIsNotFound(t *testing.T) {
	e := newEmulator(t)
	q, err := mnsqueue.New(e.config("nobody-made-me"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	checks := map[string]error{
		"SendTasks": q.SendTasks(ctx, queuetest.Tasks(1, time.Now())),
		"Delete":    q.Delete(ctx, []string{"some-handle"}),
	}
	_, checks["Receive"] = q.Receive(ctx, 1, 0)
	_, checks["ChangeVisibility"] = q.ChangeVisibility(ctx, "some-handle", time.Minute)
	for name, err := range checks {
		if domain.KindOf(err) != domain.KindNotFound || domain.CodeOf(err) != "QueueNotExist" {
			t.Errorf("%s = %v, want not-found QueueNotExist", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "nobody-made-me") {
			t.Errorf("%s error does not name the queue: %v", name, err)
		}
	}
}

func TestQueue_Credentials(t *testing.T) {
	e := newEmulator(t)
	e.mustQueue(t, e.config("creds"))
	sts := e.env.Credentials.IssueSTS(time.Hour)
	tests := []struct {
		name     string
		creds    cloudauth.Credentials
		wantKind domain.Kind
		wantCode string
	}{
		{"sts", cloudauth.Credentials{AccessKeyID: sts.AccessKeyID, AccessKeySecret: sts.AccessKeySecret, SecurityToken: sts.SecurityToken}, 0, ""},
		{"sts without token", cloudauth.Credentials{AccessKeyID: sts.AccessKeyID, AccessKeySecret: sts.AccessKeySecret}, domain.KindPermanent, "AccessDenied"},
		{"wrong secret", cloudauth.Credentials{AccessKeyID: testAKID, AccessKeySecret: "not-the-secret"}, domain.KindPermanent, "SignatureDoesNotMatch"},
		{"unknown key", cloudauth.Credentials{AccessKeyID: "LTAInobody", AccessKeySecret: "nobody-secret"}, domain.KindPermanent, "InvalidAccessKeyId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.config("creds")
			cfg.Credentials = tc.creds
			q, err := mnsqueue.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = q.SendBodies(context.Background(), []string{"hello"}, 0)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("SendBodies: %v", err)
				}
				return
			}
			if domain.KindOf(err) != tc.wantKind || domain.CodeOf(err) != tc.wantCode {
				t.Fatalf("SendBodies = %v, want %s %s", err, tc.wantKind, tc.wantCode)
			}
			if strings.Contains(err.Error(), tc.creds.AccessKeySecret) {
				t.Fatalf("error reveals the secret: %v", err)
			}
		})
	}
}

// TestQueue_ThrottlingIsRetried runs sends and receives through the
// emulator's rate limit: the adapter backs off and nothing is lost.
func TestQueue_ThrottlingIsRetried(t *testing.T) {
	e := newEmulator(t)
	q := e.mustQueue(t, e.config("busy"))
	e.env.Controls.SetRateLimit("mns", "*", core.RateLimit{PerSecond: 40, Burst: 1})
	ctx := context.Background()
	const n = 64
	if err := q.SendTasks(ctx, queuetest.Tasks(n, time.Now())); err != nil {
		t.Fatalf("SendTasks under throttling: %v", err)
	}
	got := map[string]bool{}
	for len(got) < n {
		ds, err := q.Receive(ctx, 16, 0)
		if err != nil {
			t.Fatalf("Receive under throttling: %v", err)
		}
		if len(ds) == 0 {
			break
		}
		var hs []string
		for _, d := range ds {
			got[d.Body] = true
			hs = append(hs, d.ReceiptHandle)
		}
		if err := q.Delete(ctx, hs); err != nil {
			t.Fatalf("Delete under throttling: %v", err)
		}
	}
	if len(got) != n {
		t.Fatalf("received %d distinct tasks, want %d", len(got), n)
	}
}

// TestQueue_ServerFaultsAreRetried injects 5xx answers and dropped
// connections before the emulator acts: every task arrives exactly once.
func TestQueue_ServerFaultsAreRetried(t *testing.T) {
	e := newEmulator(t)
	q := e.mustQueue(t, e.config("flaky"))
	e.env.Controls.SetFaults("mns", "*", core.FaultSpec{ServerErrorRate: 0.3, DropRate: 0.2})
	ctx := context.Background()
	const n = 48
	if err := q.SendTasks(ctx, queuetest.Tasks(n, time.Now())); err != nil {
		t.Fatalf("SendTasks with faults: %v", err)
	}
	got := map[string]int{}
	for empty := 0; empty < 3 && len(got) < n; {
		ds, err := q.Receive(ctx, 16, 0)
		if err != nil {
			t.Fatalf("Receive with faults: %v", err)
		}
		if len(ds) == 0 {
			empty++
			continue
		}
		for _, d := range ds {
			got[d.Body]++
		}
	}
	if len(got) != n {
		t.Fatalf("received %d distinct tasks, want %d", len(got), n)
	}
	for body, c := range got {
		if c != 1 {
			t.Errorf("%s delivered %d times within its visibility timeout", body, c)
		}
	}
	faults := 0
	for _, c := range e.env.Controls.Counts() {
		for outcome, n := range c.Outcomes {
			if outcome != core.Proceed.String() {
				faults += int(n)
			}
		}
	}
	if faults == 0 {
		t.Errorf("no faults were injected: %+v", e.env.Controls.Counts())
	}
}

func BenchmarkQueue_SendReceiveDelete(b *testing.B) {
	e := newEmulator(b)
	q := e.mustQueue(b, e.config("bench"))
	ctx := context.Background()
	tasks := queuetest.Tasks(16, time.Now())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := q.SendTasks(ctx, tasks); err != nil {
			b.Fatal(err)
		}
		ds := queuetest.MustReceive(b, q, 16)
		hs := make([]string, len(ds))
		for j, d := range ds {
			hs[j] = d.ReceiptHandle
		}
		if err := q.Delete(ctx, hs); err != nil {
			b.Fatal(err)
		}
	}
}

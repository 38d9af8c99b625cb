package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/runreport"
	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/stack"
	"github.com/sgpilot/sgpilot/shared/testkit/harness"
	"github.com/sgpilot/sgpilot/shared/usecase/notify"
)

// opsEndpoint is an operator's HTTP endpoint subscribed to the notification
// topic: it verifies each push's signature as a real endpoint should and
// keeps the messages.
type opsEndpoint struct {
	mu       sync.Mutex
	messages []notify.Message
	tags     []string
	bad      []string
}

func (e *opsEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	verr := mnsemu.VerifyPush(r, func(u string) ([]byte, error) {
		resp, err := http.Get(u)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	})
	var m notify.Message
	jerr := json.Unmarshal(body, &m)
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case verr != nil:
		e.bad = append(e.bad, "signature: "+verr.Error())
		w.WriteHeader(http.StatusForbidden)
		return
	case jerr != nil:
		e.bad = append(e.bad, "body: "+jerr.Error()+": "+string(body))
	default:
		e.messages = append(e.messages, m)
		e.tags = append(e.tags, r.Header.Get("x-mns-message-tag"))
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *opsEndpoint) got() ([]notify.Message, []string, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]notify.Message(nil), e.messages...), append([]string(nil), e.tags...), append([]string(nil), e.bad...)
}

// subscribeOps subscribes a fresh endpoint to the stack's notification
// topic (SIMPLIFIED: the body is the published message as is).
func subscribeOps(t *testing.T, c *harness.Cloud) *opsEndpoint {
	t.Helper()
	ep := &opsEndpoint{}
	srv := httptest.NewServer(ep)
	t.Cleanup(srv.Close)
	if _, err := c.MNS.Subscribe(stack.NotifyTopic, mnsemu.SubscriptionAttributes{Name: "ops", Endpoint: srv.URL,
		NotifyStrategy: mnsemu.StrategyBackoff, NotifyContentFormat: mnsemu.FormatSimplified}); err != nil {
		t.Fatal(err)
	}
	return ep
}

// waitNotified waits for n verified notifications.
func waitNotified(t *testing.T, c *harness.Cloud, ep *opsEndpoint, n int) []notify.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := harness.WaitFor(ctx, 100*time.Millisecond, func() (bool, string) {
		msgs, _, bad := ep.got()
		if len(bad) > 0 {
			t.Fatalf("bad pushes: %v", bad)
		}
		return len(msgs) >= n, "notifications so far: " + itoa(len(msgs))
	})
	if err != nil {
		t.Fatal(err)
	}
	c.MNS.WaitPushes()
	msgs, _, _ := ep.got()
	return msgs
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func reasonsOf(r runreport.Report) map[string]bool {
	out := map[string]bool{}
	for _, a := range r.NeedsAttention {
		out[a.Reason] = true
	}
	return out
}

// A night whose deletions the blast radius withholds notifies, once, and
// says why; the invocation returns the same report.
func TestNotify_WithheldDeletionsNotify(t *testing.T) {
	seed := cleanupSeed(time.Now())
	for i := range seed.SecurityGroups {
		if seed.SecurityGroups[i].ID == sgUnused || seed.SecurityGroups[i].ID == sgSelfRef {
			seed.SecurityGroups[i].Tags = append(seed.SecurityGroups[i].Tags, ecsemu.SeedTag{Key: domain.DefaultStaleTagKey, Value: "2020-01-01"})
		}
	}
	c := startCloud(t, true, &seed, "SGPILOT_MAX_DELETIONS", "1", "SGPILOT_MAX_DELETE_PERCENT", "100")
	ep := subscribeOps(t, c)
	res := runCleanup(t, c, "apply")
	if len(res.RunReports) != 1 {
		t.Fatalf("run reports %+v, want the cleanup's", res.RunReports)
	}
	rep := res.RunReports[0]
	if rep.Kind != runreport.KindCleanup || rep.Counts.Withheld["blast-radius"] != 2 || !reasonsOf(rep)[runreport.AttentionWithheld] {
		t.Fatalf("returned report %+v", rep)
	}
	if rep.ECSCalls["DescribeSecurityGroups"] == 0 || rep.RunID != res.RunID || rep.Schema != runreport.Schema {
		t.Errorf("report misses calls or IDs: %+v", rep)
	}
	msgs := waitNotified(t, c, ep, 1)
	_, tags, _ := ep.got()
	if len(msgs) != 1 || tags[0] != notify.TagAttention || msgs[0].Report.RunID != res.RunID || !reasonsOf(msgs[0].Report)[runreport.AttentionWithheld] {
		t.Fatalf("notifications %+v tags %v", msgs, tags)
	}
	// The same run reported again the next night notifies again: a limit
	// that withholds every night is named every night.
	res = runCleanup(t, c, "apply")
	if msgs = waitNotified(t, c, ep, 2); len(msgs) != 2 || msgs[1].Report.RunID != res.RunID {
		t.Fatalf("second night: %+v", msgs)
	}
}

// A quiet night publishes nothing, or one digest when configured.
func TestNotify_QuietNight(t *testing.T) {
	tests := []struct {
		name   string
		digest string
		want   int
	}{
		{name: "nothing by default", digest: "false", want: 0},
		{name: "one digest when asked", digest: "true", want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := cleanupSeed(time.Now())
			c := startCloud(t, true, &seed, "SGPILOT_MAX_DELETIONS", "100", "SGPILOT_MAX_DELETE_PERCENT", "100",
				"SGPILOT_NOTIFY_DIGEST", tt.digest)
			ep := subscribeOps(t, c)
			res := runCleanup(t, c, "apply")
			if len(res.RunReports) != 1 || len(res.RunReports[0].NeedsAttention) != 0 {
				t.Fatalf("a quiet night needs attention: %+v", res.RunReports)
			}
			if res.RunReports[0].Counts.Planned == 0 || res.RunReports[0].Counts.Done != res.RunReports[0].Counts.Planned {
				t.Errorf("counts %+v", res.RunReports[0].Counts)
			}
			c.MNS.WaitPushes()
			pub := c.MNS.PublishedMessages(stack.NotifyTopic)
			if len(pub) != tt.want {
				t.Fatalf("published %d messages, want %d: %+v", len(pub), tt.want, pub)
			}
			if tt.want == 1 {
				msgs := waitNotified(t, c, ep, 1)
				if _, tags, _ := ep.got(); tags[0] != notify.TagDigest || msgs[0].Report.RunID != res.RunID {
					t.Fatalf("digest %+v tags %v", msgs, tags)
				}
			}
		})
	}
}

// Dead letters notify: the worker's batch report names them.
func TestNotify_DeadLettersNotify(t *testing.T) {
	seed := harness.DemoSeed()
	c := startCloud(t, true, &seed)
	ep := subscribeOps(t, c)
	if _, err := c.MNS.Send(stack.WorkQueue, `{"v":1,"kind":"reboot"}`, 0, 0); err != nil {
		t.Fatal(err)
	}
	msgs := waitNotified(t, c, ep, 1)
	r := msgs[0].Report
	if r.Kind != runreport.KindOnboarding || r.Function != "queue-worker" || runreport.Total(r.Counts.DeadLettered) != 1 ||
		!reasonsOf(r)[runreport.AttentionDeadLetters] {
		t.Fatalf("notification %+v", msgs[0])
	}
	// Nothing else was published: only the batch with the dead letter.
	if pub := c.MNS.PublishedMessages(stack.NotifyTopic); len(pub) != 1 {
		t.Fatalf("published %d, want 1", len(pub))
	}
}

package mnsqueue_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/adapter/mnsqueue"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

// endpoint is an HTTP subscriber that verifies each push's signature and
// answers with the statuses given, then 204.
type endpoint struct {
	mu       sync.Mutex
	statuses []int
	got      []*http.Request
	bodies   []string
	verify   []error
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := mnsemu.VerifyPush(r, func(u string) ([]byte, error) {
		resp, err := http.Get(u)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	})
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got, e.bodies, e.verify = append(e.got, r), append(e.bodies, string(body)), append(e.verify, err)
	status := http.StatusNoContent
	if len(e.statuses) > 0 {
		status, e.statuses = e.statuses[0], e.statuses[1:]
	}
	w.WriteHeader(status)
}

func (e *endpoint) snapshot() ([]string, []error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.bodies...), append([]error(nil), e.verify...)
}

func newTopic(t *testing.T, e *emulator, name string) *mnsqueue.Topic {
	t.Helper()
	tp, err := mnsqueue.NewTopic(e.config("unused"), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.EnsureTopic(context.Background()); err != nil {
		t.Fatalf("EnsureTopic: %v", err)
	}
	if err := tp.EnsureTopic(context.Background()); err != nil {
		t.Fatalf("EnsureTopic again: %v", err)
	}
	return tp
}

func TestTopic_PublishPushesSignedNotifications(t *testing.T) {
	tests := []struct {
		name, format, tag, filter string
		wantPush                  bool
		check                     func(t *testing.T, body string, r *http.Request)
	}{
		{name: "XML", format: "XML", tag: "attention", wantPush: true, check: func(t *testing.T, body string, r *http.Request) {
			var n struct {
				TopicName, SubscriptionName, MessageId, Message, MessageTag string
			}
			if err := xml.Unmarshal([]byte(body), &n); err != nil {
				t.Fatalf("notification %s: %v", body, err)
			}
			if n.TopicName != "ops" || n.SubscriptionName != "robot" || n.Message != "hello <ops>" || n.MessageTag != "attention" || n.MessageId == "" {
				t.Fatalf("notification %+v", n)
			}
			if r.URL.Path != "/notifications" {
				t.Fatalf("path %s, want the default /notifications", r.URL.Path)
			}
		}},
		{name: "SIMPLIFIED", format: "SIMPLIFIED", tag: "attention", wantPush: true, check: func(t *testing.T, body string, r *http.Request) {
			if body != "hello <ops>" || r.Header.Get("x-mns-message-tag") != "attention" || r.Header.Get("x-mns-message-id") == "" {
				t.Fatalf("body %q headers %v", body, r.Header)
			}
		}},
		{name: "filter tag matches", format: "SIMPLIFIED", tag: "attention", filter: "attention", wantPush: true},
		{name: "filter tag differs", format: "SIMPLIFIED", tag: "digest", filter: "attention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t)
			ep := &endpoint{}
			srv := httptest.NewServer(ep)
			t.Cleanup(srv.Close)
			tp := newTopic(t, e, "ops")
			sub := mnsqueue.Subscription{Name: "robot", Endpoint: srv.URL, FilterTag: tt.filter, Format: tt.format}
			if err := tp.Subscribe(context.Background(), sub); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			if err := tp.Subscribe(context.Background(), sub); err != nil {
				t.Fatalf("Subscribe again (identical): %v", err)
			}
			if err := tp.Publish(context.Background(), tt.tag, "hello <ops>"); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			e.svc.WaitPushes()
			bodies, verr := ep.snapshot()
			if !tt.wantPush {
				if len(bodies) != 0 {
					t.Fatalf("pushed %q despite the filter", bodies)
				}
				return
			}
			if len(bodies) != 1 {
				t.Fatalf("%d pushes, want 1", len(bodies))
			}
			if verr[0] != nil {
				t.Fatalf("signature: %v", verr[0])
			}
			if tt.check != nil {
				tt.check(t, bodies[0], ep.got[0])
			}
			pub := e.svc.PublishedMessages("ops")
			if len(pub) != 1 || pub[0].Deliveries[0].State != "delivered" {
				t.Fatalf("published %+v", pub)
			}
		})
	}
}

func TestTopic_PushRetriesPerStrategy(t *testing.T) {
	tests := []struct {
		name, strategy string
		statuses       []int
		wantAttempts   int
		wantState      string
	}{
		{name: "backoff recovers", strategy: "BACKOFF_RETRY", statuses: []int{500, 503}, wantAttempts: 3, wantState: "delivered"},
		{name: "backoff gives up after 3 retries", strategy: "BACKOFF_RETRY", statuses: []int{500, 500, 500, 500, 500}, wantAttempts: 4, wantState: "failed"},
		{name: "exponential keeps going", strategy: "EXPONENTIAL_DECAY_RETRY", statuses: []int{500, 500, 500, 500, 500, 500}, wantAttempts: 7, wantState: "delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t)
			e.svc.SetNotifyRetryScale(0.0005) // 10-20 s waits become 5-10 ms
			ep := &endpoint{statuses: tt.statuses}
			srv := httptest.NewServer(ep)
			t.Cleanup(srv.Close)
			tp := newTopic(t, e, "ops")
			if err := tp.Subscribe(context.Background(), mnsqueue.Subscription{Name: "s", Endpoint: srv.URL + "/hook", Strategy: tt.strategy}); err != nil {
				t.Fatal(err)
			}
			if err := tp.Publish(context.Background(), "", "x"); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { e.svc.WaitPushes(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("pushes did not end")
			}
			d := e.svc.PublishedMessages("ops")[0].Deliveries[0]
			if d.Attempts != tt.wantAttempts || d.State != tt.wantState {
				t.Fatalf("delivery %+v, want %d attempts, %s", d, tt.wantAttempts, tt.wantState)
			}
			if ep.got[0].URL.Path != "/hook" {
				t.Fatalf("path %s", ep.got[0].URL.Path)
			}
		})
	}
}

func TestTopic_Errors(t *testing.T) {
	e := newEmulator(t)
	tp, err := mnsqueue.NewTopic(e.config("unused"), "missing")
	if err != nil {
		t.Fatal(err)
	}
	err = tp.Publish(context.Background(), "", "x")
	if domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("publish to a missing topic: kind %v, err %v", domain.KindOf(err), err)
	}
	if err := tp.Publish(context.Background(), strings.Repeat("t", 17), "x"); domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("long tag: %v", err)
	}
	if _, err := mnsqueue.NewTopic(e.config("x"), "bad_name"); err == nil {
		t.Fatal("bad topic name accepted")
	}
}

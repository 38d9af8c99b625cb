package mnsqueue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sgpilot/sgpilot/shared/adapter/mnsqueue"
	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
	"github.com/sgpilot/sgpilot/shared/core/workqueue"
	"github.com/sgpilot/sgpilot/shared/testkit/queuetest"
)

// recorded is one request the scripted server saw.
type recorded struct {
	method, path, query, body string
	header                    http.Header
}

// scripted is an HTTP server that answers MNS requests from a script, to
// pin down how the adapter reads statuses and XML bodies MNS may send.
type scripted struct {
	mu     sync.Mutex
	reqs   []recorded
	answer func(n int, r recorded) (int, string)
	addr   string
}

func newScripted(t *testing.T, answer func(n int, r recorded) (int, string)) *scripted {
	t.Helper()
	s := &scripted{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := recorded{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, body: string(body), header: r.Header.Clone()}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		n := len(s.reqs)
		s.mu.Unlock()
		status, out := s.answer(n, rec)
		w.Header().Set("x-mns-request-id", fmt.Sprintf("REQ%d", n))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(srv.Close)
	s.addr = strings.TrimPrefix(srv.URL, "http://")
	return s
}

func (s *scripted) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func (s *scripted) queue(t *testing.T, attempts int) *mnsqueue.Queue {
	t.Helper()
	q, err := mnsqueue.New(mnsqueue.Config{
		Endpoint:    testEndpoint,
		DialAddress: s.addr,
		Queue:       "sg-work",
		Credentials: cloudauth.Credentials{AccessKeyID: testAKID, AccessKeySecret: testSecret},
		Retry: retry.Policy{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
			Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// errorBody is an <Error> as the real service writes it.
func errorBody(code, msg string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error xmlns="http://mns.aliyuncs.com/doc/v1/"><Code>` + code + `</Code><Message>` + msg +
		`</Message><RequestId>66320A0B0C0D0E0F10111299</RequestId><HostId>http://` + testAccount +
		`.mns.cn-hangzhou.aliyuncs.com</HostId></Error>`
}

func TestNew_Validation(t *testing.T) {
	good := mnsqueue.Config{
		Endpoint:    "http://1234567890.mns.cn-hangzhou.aliyuncs.com",
		Queue:       "sg-work",
		Credentials: cloudauth.Credentials{AccessKeyID: "LTAIkey", AccessKeySecret: "secret"},
	}
	tests := []struct {
		name   string
		mutate func(c *mnsqueue.Config)
		want   string // "" = valid
	}{
		{"valid", func(*mnsqueue.Config) {}, ""},
		{"https internal with port and slash", func(c *mnsqueue.Config) {
			c.Endpoint = "https://1234567890.mns.cn-shanghai-internal.aliyuncs.com:443/"
		}, ""},
		{"dial address", func(c *mnsqueue.Config) { c.DialAddress = "127.0.0.1:9100" }, ""},
		{"sts", func(c *mnsqueue.Config) { c.Credentials.SecurityToken = "CAIStoken" }, ""},
		{"empty endpoint", func(c *mnsqueue.Config) { c.Endpoint = "" }, "empty"},
		{"loopback endpoint", func(c *mnsqueue.Config) { c.Endpoint = "http://127.0.0.1:9100" }, "exactly five labels"},
		{"six labels", func(c *mnsqueue.Config) { c.Endpoint = "http://1.mns.cn-hangzhou.vpc.aliyuncs.com" }, "exactly five labels"},
		{"no scheme", func(c *mnsqueue.Config) { c.Endpoint = "1234567890.mns.cn-hangzhou.aliyuncs.com" }, "scheme"},
		{"ftp", func(c *mnsqueue.Config) { c.Endpoint = "ftp://1234567890.mns.cn-hangzhou.aliyuncs.com" }, "scheme"},
		{"path", func(c *mnsqueue.Config) { c.Endpoint = "http://1234567890.mns.cn-hangzhou.aliyuncs.com/queues" }, "path"},
		{"query", func(c *mnsqueue.Config) { c.Endpoint = "http://1234567890.mns.cn-hangzhou.aliyuncs.com?a=b" }, "query"},
		{"user", func(c *mnsqueue.Config) { c.Endpoint = "http://u:p@1234567890.mns.cn-hangzhou.aliyuncs.com" }, "user"},
		{"not mns", func(c *mnsqueue.Config) { c.Endpoint = "http://1234567890.ecs.cn-hangzhou.aliyuncs.com" }, `"mns"`},
		{"empty label", func(c *mnsqueue.Config) { c.Endpoint = "http://1234567890.mns..aliyuncs.com" }, "empty label"},
		{"garbage", func(c *mnsqueue.Config) { c.Endpoint = "http://[::1" }, "not a URL"},
		{"dial without port", func(c *mnsqueue.Config) { c.DialAddress = "localhost" }, "host:port"},
		{"no queue", func(c *mnsqueue.Config) { c.Queue = "" }, "queue name"},
		{"bad queue", func(c *mnsqueue.Config) { c.Queue = "sg_work" }, "queue name"},
		{"queue starts with dash", func(c *mnsqueue.Config) { c.Queue = "-q" }, "queue name"},
		{"no key id", func(c *mnsqueue.Config) { c.Credentials.AccessKeyID = "" }, "AccessKeyID"},
		{"no secret", func(c *mnsqueue.Config) { c.Credentials.AccessKeySecret = "" }, "AccessKeySecret"},
		{"short timeout", func(c *mnsqueue.Config) { c.RequestTimeout = 10 * time.Second }, "RequestTimeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mutate(&cfg)
			q, err := mnsqueue.New(cfg) // must never panic
			if tc.want == "" {
				if err != nil || q == nil {
					t.Fatalf("New = %v, %v; want a queue", q, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New accepted %v", cfg)
			}
			if domain.KindOf(err) != domain.KindInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v; want an invalid error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNew_RegionAndRedaction(t *testing.T) {
	cfg := mnsqueue.Config{
		Endpoint:    "https://1234567890.mns.cn-shanghai-internal.aliyuncs.com",
		Queue:       "sg-work",
		Credentials: cloudauth.Credentials{AccessKeyID: "STS.abcdefghijk", AccessKeySecret: "very-secret", SecurityToken: "CAIS-token"},
	}
	q, err := mnsqueue.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if q.Region() != "cn-shanghai" || q.Name() != "sg-work" {
		t.Errorf("Region, Name = %q, %q", q.Region(), q.Name())
	}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "very-secret") || strings.Contains(s, "CAIS-token") {
			t.Errorf("config printed with a secret: %s", s)
		}
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantKind  domain.Kind
		wantCode  string
		wantTries int
	}{
		{"throttled", 403, errorBody("QpsLimitExceeded", "too fast"), domain.KindThrottled, "QpsLimitExceeded", 3},
		{"internal error", 500, errorBody("InternalError", "oops"), domain.KindRetryable, "InternalError", 3},
		{"code unknown to the SDK", 503, errorBody("InternalServerError", "oops"), domain.KindRetryable, "InternalServerError", 3},
		{"gateway page", 502, "<html><body>Bad Gateway</body></html>", domain.KindRetryable, "BadErrorBody", 3},
		{"empty 503", 503, "", domain.KindRetryable, "BadErrorBody", 3},
		{"queue gone", 404, errorBody("QueueNotExist", "The queue name you provided is not exist."), domain.KindNotFound, "QueueNotExist", 1},
		{"invalid argument", 400, errorBody("InvalidArgument", "The value of numOfMessages should between 1 and 16."), domain.KindInvalid, "InvalidArgument", 1},
		{"malformed xml", 400, errorBody("MalformedXML", "bad"), domain.KindInvalid, "MalformedXML", 1},
		{"access denied", 403, errorBody("AccessDenied", "no"), domain.KindPermanent, "AccessDenied", 1},
		{"bad signature", 403, errorBody("SignatureDoesNotMatch", "no"), domain.KindPermanent, "SignatureDoesNotMatch", 1},
		{"unknown key", 403, errorBody("InvalidAccessKeyId", "no"), domain.KindPermanent, "InvalidAccessKeyId", 1},
		{"clock skew", 403, errorBody("TimeExpired", "no"), domain.KindPermanent, "TimeExpired", 1},
		{"unknown code", 400, errorBody("SomethingNew", "?"), domain.KindInternal, "SomethingNew", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newScripted(t, func(int, recorded) (int, string) { return tc.status, tc.body })
			_, err := s.queue(t, 3).Receive(context.Background(), 16, 0)
			if domain.KindOf(err) != tc.wantKind || domain.CodeOf(err) != tc.wantCode {
				t.Fatalf("Receive = %v; want %s [%s]", err, tc.wantKind, tc.wantCode)
			}
			if !strings.Contains(err.Error(), "mns BatchReceiveMessage from sg-work") {
				t.Errorf("error lacks its operation: %v", err)
			}
			if n := len(s.requests()); n != tc.wantTries {
				t.Errorf("%d requests, want %d", n, tc.wantTries)
			}
		})
	}
}

func TestClassification_EmptyQueueIsNotAnError(t *testing.T) {
	s := newScripted(t, func(int, recorded) (int, string) {
		return 404, errorBody("MessageNotExist", "Message not exist.")
	})
	ds, err := s.queue(t, 3).Receive(context.Background(), 16, 0)
	if ds != nil || err != nil {
		t.Fatalf("Receive = %v, %v; want nil, nil", ds, err)
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests for an empty queue, want 1", n)
	}
}

func TestClassification_StaleHandleIsConflict(t *testing.T) {
	s := newScripted(t, func(int, recorded) (int, string) {
		return 400, errorBody("ReceiptHandleError", "The receipt handle you provide is not valid.")
	})
	_, err := s.queue(t, 3).ChangeVisibility(context.Background(), "1-abc+/=", time.Minute)
	if domain.KindOf(err) != domain.KindConflict || domain.CodeOf(err) != "ReceiptHandleError" {
		t.Fatalf("ChangeVisibility = %v", err)
	}
	r := s.requests()[0]
	if r.method != http.MethodPut || r.query != "ReceiptHandle=1-abc%2B%2F%3D&VisibilityTimeout=60" {
		t.Errorf("request %s ?%s", r.method, r.query)
	}
}

func TestClassification_TransportFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close() // nothing listens there any more
	q, err := mnsqueue.New(mnsqueue.Config{
		Endpoint: testEndpoint, DialAddress: addr, Queue: "sg-work",
		Credentials: cloudauth.Credentials{AccessKeyID: testAKID, AccessKeySecret: testSecret},
		Retry:       retry.Policy{MaxAttempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = q.SendBodies(context.Background(), []string{"x"}, 0)
	if domain.KindOf(err) != domain.KindRetryable || domain.CodeOf(err) != "Transport" {
		t.Fatalf("SendBodies = %v; want retryable Transport", err)
	}
}

func TestReceive_WireAndDecoding(t *testing.T) {
	const answer = `<?xml version="1.0" encoding="UTF-8"?>
<Messages xmlns="http://mns.aliyuncs.com/doc/v1/"><Message>
<MessageId>A1B2C3D4E5F60718293A4B5C6D7E8F90</MessageId><ReceiptHandle>1-ODU4OTkzNDU5My0xNzE0NTUwNzAwLTEtOA==</ReceiptHandle>
<MessageBodyMD5>5F2C0A9E1B3D4C6E7F8091A2B3C4D5E1</MessageBodyMD5><MessageBody>{"a":"b &amp; c"}</MessageBody>
<EnqueueTime>1714550400000</EnqueueTime><NextVisibleTime>1714550730000</NextVisibleTime>
<FirstDequeueTime>1714550700000</FirstDequeueTime><DequeueCount>3</DequeueCount><Priority>8</Priority>
</Message></Messages>`
	s := newScripted(t, func(int, recorded) (int, string) { return 200, answer })
	q := s.queue(t, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ds, err := q.Receive(ctx, 7, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := workqueue.Delivery{MessageID: "A1B2C3D4E5F60718293A4B5C6D7E8F90", Body: `{"a":"b & c"}`,
		ReceiptHandle: "1-ODU4OTkzNDU5My0xNzE0NTUwNzAwLTEtOA==", DequeueCount: 3,
		EnqueueTime: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)}
	if len(ds) != 1 || ds[0] != want {
		t.Fatalf("Receive = %+v, want %+v", ds, want)
	}
	if _, err := q.Receive(context.Background(), 16, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Receive(context.Background(), 1, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	reqs := s.requests()
	// A 30 s poll under a 5 s deadline is cut to end a second early.
	if reqs[0].path != "/queues/sg-work/messages" || reqs[0].query != "numOfMessages=7&waitseconds=3" {
		t.Errorf("long poll under a deadline: %s?%s", reqs[0].path, reqs[0].query)
	}
	if reqs[1].query != "numOfMessages=16" {
		t.Errorf("short poll: ?%s", reqs[1].query)
	}
	if reqs[2].query != "numOfMessages=1&waitseconds=2" {
		t.Errorf("1.5 s poll: ?%s", reqs[2].query)
	}
	if auth := reqs[0].header.Get("Authorization"); !strings.HasPrefix(auth, "MNS "+testAKID+":") {
		t.Errorf("Authorization = %q", auth)
	}
}

func TestSend_PartialFailureRetriesOnlyTheFailed(t *testing.T) {
	s := newScripted(t, func(n int, r recorded) (int, string) {
		if n == 1 {
			return 500, `<?xml version="1.0" encoding="UTF-8"?><Messages xmlns="http://mns.aliyuncs.com/doc/v1/">` +
				`<Message><MessageId>ID0</MessageId><MessageBodyMD5>X</MessageBodyMD5></Message>` +
				`<Message><ErrorCode>QpsLimitExceeded</ErrorCode><ErrorMessage>slow down</ErrorMessage></Message>` +
				`<Message><ErrorCode>InvalidArgument</ErrorCode><ErrorMessage>too big</ErrorMessage></Message>` +
				`</Messages>`
		}
		return 201, `<Messages><Message><MessageId>ID1</MessageId><MessageBodyMD5>Y</MessageBodyMD5></Message></Messages>`
	})
	err := s.queue(t, 3).SendBodies(context.Background(), []string{"zero", "one", "two"}, 90*time.Second)
	if domain.KindOf(err) != domain.KindInvalid || domain.CodeOf(err) != "InvalidArgument" {
		t.Fatalf("SendBodies = %v; want invalid [InvalidArgument]", err)
	}
	items := queuetest.ItemErrors(err)
	if len(items) != 1 || items[0].Op != "body #2" {
		t.Fatalf("item errors = %v; want only body #2", items)
	}
	reqs := s.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if !strings.Contains(reqs[0].body, "<DelaySeconds>90</DelaySeconds>") {
		t.Errorf("first request lacks the delay: %s", reqs[0].body)
	}
	if strings.Count(reqs[1].body, "<Message>") != 1 || !strings.Contains(reqs[1].body, "<MessageBody>one</MessageBody>") {
		t.Errorf("retry resent %s; want only the throttled message", reqs[1].body)
	}
}

func TestSend_WholeBatchFailureStopsTheRun(t *testing.T) {
	s := newScripted(t, func(n int, r recorded) (int, string) {
		if n == 1 {
			return 201, `<Messages>` + strings.Repeat(`<Message><MessageId>I</MessageId><MessageBodyMD5>M</MessageBodyMD5></Message>`, 16) + `</Messages>`
		}
		return 404, errorBody("QueueNotExist", "The queue name you provided is not exist.")
	})
	tasks := queuetest.Tasks(40, time.Now())
	err := s.queue(t, 3).SendTasks(context.Background(), tasks)
	if domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("SendTasks = %v", err)
	}
	items := queuetest.ItemErrors(err)
	if len(items) != 24 || items[0].Op != "task "+tasks[16].ID {
		t.Fatalf("%d item errors starting at %v; want the 24 tasks from %s", len(items), items[0].Op, tasks[16].ID)
	}
	if n := len(s.requests()); n != 2 {
		t.Errorf("%d requests; want 2 (the run stops at a non-retryable batch failure)", n)
	}
	if !strings.Contains(err.Error(), "24 of 40 tasks not sent: task "+tasks[16].ID+", task "+tasks[17].ID+",") {
		t.Errorf("error text: %v", err)
	}
}

func TestDelete_PartialFailure(t *testing.T) {
	s := newScripted(t, func(n int, r recorded) (int, string) {
		if n == 1 {
			return 404, `<?xml version="1.0" encoding="UTF-8"?><Errors xmlns="http://mns.aliyuncs.com/doc/v1/">` +
				`<Error><ErrorCode>ReceiptHandleError</ErrorCode><ErrorMessage>The receipt handle you provide is not valid.</ErrorMessage><ReceiptHandle>h2</ReceiptHandle></Error>` +
				`<Error><ErrorCode>QpsLimitExceeded</ErrorCode><ErrorMessage>slow down</ErrorMessage><ReceiptHandle>h3</ReceiptHandle></Error>` +
				`</Errors>`
		}
		return 204, ""
	})
	err := s.queue(t, 3).Delete(context.Background(), []string{"h1", "h2", "h3", "h1"})
	if domain.KindOf(err) != domain.KindConflict || !strings.Contains(err.Error(), "receipt handle h2") {
		t.Fatalf("Delete = %v; want conflict naming h2", err)
	}
	if items := queuetest.ItemErrors(err); len(items) != 1 || items[0].Code != "ReceiptHandleError" {
		t.Fatalf("item errors = %v", items)
	}
	reqs := s.requests()
	if len(reqs) != 2 || reqs[0].method != http.MethodDelete {
		t.Fatalf("requests = %+v", reqs)
	}
	if strings.Count(reqs[0].body, "<ReceiptHandle>") != 3 {
		t.Errorf("duplicate handle sent twice: %s", reqs[0].body)
	}
	if reqs[1].body != "<ReceiptHandles><ReceiptHandle>h3</ReceiptHandle></ReceiptHandles>" {
		t.Errorf("retry body %s; want only h3", reqs[1].body)
	}
}

func TestContext_AbandonsAHangingCall(t *testing.T) {
	release := make(chan struct{})
	s := newScripted(t, func(int, recorded) (int, string) {
		<-release
		return 204, ""
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.queue(t, 3).Delete(ctx, []string{"h"})
	if !errors.Is(err, context.DeadlineExceeded) || domain.KindOf(err) != domain.KindDeadline {
		t.Fatalf("Delete = %v; want KindDeadline with the deadline", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Delete returned after %s", el)
	}
}

func TestSTS_TokenIsSent(t *testing.T) {
	s := newScripted(t, func(int, recorded) (int, string) { return 204, "" })
	q, err := mnsqueue.New(mnsqueue.Config{
		Endpoint: testEndpoint, DialAddress: s.addr, Queue: "sg-work",
		Credentials: cloudauth.Credentials{AccessKeyID: "STS.key", AccessKeySecret: "s", SecurityToken: "CAIS-token"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Delete(context.Background(), []string{"h"}); err != nil {
		t.Fatal(err)
	}
	if tok := s.requests()[0].header.Get("Security-Token"); tok != "CAIS-token" {
		t.Errorf("security-token header = %q", tok)
	}
}

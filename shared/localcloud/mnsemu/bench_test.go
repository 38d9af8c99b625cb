package mnsemu_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

// serveDirect calls ServeHTTP without a network, as a benchmark of the
// emulator itself; the caller's signing is included in the cost.
func serveDirect(tb testing.TB, svc *mnsemu.Service, method, resource, body string, want int) string {
	req := httptest.NewRequest(method, resource, strings.NewReader(body))
	signRequest(req, []byte(body), testAKID, testSecret)
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	if rec.Code != want {
		tb.Fatalf("%s %s: %d %s", method, resource, rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// between returns every text between open and close tags in s.
func between(s, open, close string) []string {
	var out []string
	for {
		i := strings.Index(s, open)
		if i < 0 {
			return out
		}
		s = s[i+len(open):]
		j := strings.Index(s, close)
		if j < 0 {
			return out
		}
		out = append(out, s[:j])
		s = s[j+len(close):]
	}
}

func newBenchService(tb testing.TB, backlog int) *mnsemu.Service {
	env := core.NewEnv(testAccount, 1)
	env.Credentials.AddAccessKey(testAKID, testSecret)
	svc := mnsemu.New(env, mnsemu.Options{})
	tb.Cleanup(svc.Close)
	if err := svc.CreateQueue("bench", mnsemu.QueueAttributes{VisibilityTimeout: 43200}); err != nil {
		tb.Fatal(err)
	}
	// A backlog of low-priority messages sits behind the benchmark's own,
	// showing that per-message cost does not grow with queue length.
	for i := range backlog {
		if _, err := svc.Send("bench", fmt.Sprint("backlog-", i), 0, 16); err != nil {
			tb.Fatal(err)
		}
	}
	return svc
}

// BenchmarkServeHTTP_SendReceiveDelete: one message per iteration through
// SendMessage, ReceiveMessage and DeleteMessage, all via ServeHTTP.
func BenchmarkServeHTTP_SendReceiveDelete(b *testing.B) {
	for _, backlog := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("backlog=%d", backlog), func(b *testing.B) {
			svc := newBenchService(b, backlog)
			const sendBody = `<Message><MessageBody>{"instanceId":"i-bp1aaaaaaaaaaaaaaaa1"}</MessageBody><DelaySeconds>0</DelaySeconds><Priority>1</Priority></Message>`
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				serveDirect(b, svc, http.MethodPost, "/queues/bench/messages", sendBody, http.StatusCreated)
				got := serveDirect(b, svc, http.MethodGet, "/queues/bench/messages", "", http.StatusOK)
				h := between(got, "<ReceiptHandle>", "</ReceiptHandle>")[0]
				serveDirect(b, svc, http.MethodDelete, "/queues/bench/messages?ReceiptHandle="+url.QueryEscape(h), "", http.StatusNoContent)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkServeHTTP_Batch16: 16 messages per iteration through
// BatchSendMessage, BatchReceiveMessage and BatchDeleteMessage.
func BenchmarkServeHTTP_Batch16(b *testing.B) {
	svc := newBenchService(b, 0)
	var sb strings.Builder
	sb.WriteString("<Messages>")
	for i := range 16 {
		fmt.Fprintf(&sb, "<Message><MessageBody>task-%d</MessageBody><DelaySeconds>0</DelaySeconds><Priority>0</Priority></Message>", i)
	}
	sb.WriteString("</Messages>")
	sendBody := sb.String()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		serveDirect(b, svc, http.MethodPost, "/queues/bench/messages", sendBody, http.StatusCreated)
		got := serveDirect(b, svc, http.MethodGet, "/queues/bench/messages?numOfMessages=16", "", http.StatusOK)
		handles := between(got, "<ReceiptHandle>", "</ReceiptHandle>")
		if len(handles) != 16 {
			b.Fatalf("received %d messages, want 16", len(handles))
		}
		del := "<ReceiptHandles><ReceiptHandle>" + strings.Join(handles, "</ReceiptHandle><ReceiptHandle>") + "</ReceiptHandle></ReceiptHandles>"
		serveDirect(b, svc, http.MethodDelete, "/queues/bench/messages", del, http.StatusNoContent)
	}
	b.ReportMetric(float64(16*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSDK_SendReceiveDelete: the same cycle through the real SDK over
// loopback HTTP, for a realistic end-to-end figure (client cost included).
func BenchmarkSDK_SendReceiveDelete(b *testing.B) {
	f := newFixture(b, mnsemu.Options{})
	q := f.mustCreateQueue(b, "bench")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		mustSend(b, q, "task")
		m := mustReceive(b, q)
		if err := q.DeleteMessage(m.ReceiptHandle); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

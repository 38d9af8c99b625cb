package mnsemu_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"testing"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

type wireError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// doRaw sends req and decodes the answer as an MNS <Error>.
func doRaw(tb testing.TB, req *http.Request) (int, wireError) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e wireError
	if resp.StatusCode >= 300 {
		if err := xml.Unmarshal(body, &e); err != nil {
			tb.Fatalf("error body %q: %v", body, err)
		}
		if e.RequestID == "" || e.RequestID != resp.Header.Get("x-mns-request-id") {
			tb.Fatalf("RequestId %q vs header %q", e.RequestID, resp.Header.Get("x-mns-request-id"))
		}
	}
	if resp.Header.Get("x-mns-version") != mnsemu.APIVersion {
		tb.Fatalf("x-mns-version header = %q", resp.Header.Get("x-mns-version"))
	}
	return resp.StatusCode, e
}

func TestAuth_RawRequestErrors(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	f.mustCreateQueue(t, "jobs")
	const res = "/queues/jobs/messages"
	tests := []struct {
		name       string
		mutate     func(req *http.Request) // after signing
		wantStatus int
		wantCode   string
	}{
		{"valid", func(*http.Request) {}, http.StatusNotFound, mnsemu.CodeMessageNotExist},
		{"no authorization", func(r *http.Request) { r.Header.Del("Authorization") },
			http.StatusBadRequest, mnsemu.CodeMissingAuthorizationHeader},
		{"not MNS scheme", func(r *http.Request) { r.Header.Set("Authorization", "Basic abc") },
			http.StatusBadRequest, mnsemu.CodeInvalidAuthorizationHeader},
		{"no version", func(r *http.Request) { r.Header.Del("x-mns-version") },
			http.StatusBadRequest, mnsemu.CodeMissingVersionHeader},
		{"no date", func(r *http.Request) { r.Header.Del("Date") },
			http.StatusBadRequest, mnsemu.CodeMissingDateHeader},
		{"bad date", func(r *http.Request) { r.Header.Set("Date", "yesterday") },
			http.StatusBadRequest, mnsemu.CodeInvalidDateHeader},
		{"stale date", func(r *http.Request) {
			r.Header.Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
		}, http.StatusForbidden, mnsemu.CodeTimeExpired},
		{"raw md5 instead of hex-then-base64", func(r *http.Request) {
			r.Header.Set("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")
		}, http.StatusBadRequest, mnsemu.CodeInvalidDigest},
		{"tampered query", func(r *http.Request) { r.URL.RawQuery = "waitseconds=1" },
			http.StatusForbidden, mnsemu.CodeSignatureDoesNotMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newSignedRequest(t, f.srv.URL, http.MethodGet, res, nil)
			tc.mutate(req)
			status, e := doRaw(t, req)
			if status != tc.wantStatus || e.Code != tc.wantCode {
				t.Fatalf("got %d %s (%s), want %d %s", status, e.Code, e.Message, tc.wantStatus, tc.wantCode)
			}
			if e.HostID != testEndpoint {
				t.Fatalf("HostId = %q, want %q", e.HostID, testEndpoint)
			}
		})
	}
}

// TestAuth_ReferenceVector replays the worked example of
// alibaba-reference.md §6.2 over HTTP: the fixed signature must be accepted.
func TestAuth_ReferenceVector(t *testing.T) {
	date := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	f := newFixture(t, mnsemu.Options{WallNow: func() time.Time { return date }})
	f.env.Credentials.AddAccessKey("vectorkey", "testsecret")
	if err := f.svc.CreateQueue("sg-sync", mnsemu.QueueAttributes{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Send("sg-sync", "hello", 0, 0); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/queues/sg-sync/messages?numOfMessages=16&waitseconds=10", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Content-MD5", "ZDQxZDhjZDk4ZjAwYjIwNGU5ODAwOTk4ZWNmODQyN2U=")
	req.Header.Set("Date", "Wed, 01 May 2024 08:00:00 GMT")
	req.Header.Set("x-mns-version", "2015-06-06")
	req.Header.Set("Authorization", "MNS vectorkey:rTOEClXLBIePgLEQ7f+koDtRAsQ=")
	if status, e := doRaw(t, req); status != http.StatusOK {
		t.Fatalf("reference request: %d %s %s", status, e.Code, e.Message)
	}
}

func TestAuth_SDKCredentials(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	f.mustCreateQueue(t, "jobs")
	sts := f.env.Credentials.IssueSTS(time.Hour)
	tests := []struct {
		name                string
		akid, secret, token string
		want                errTemplate // nil: success
	}{
		{"sts", sts.AccessKeyID, sts.AccessKeySecret, sts.SecurityToken, nil},
		{"sts wrong token", sts.AccessKeyID, sts.AccessKeySecret, "CAISwrong", &ali_mns.ERR_MNS_ACCESS_DENIED},
		{"sts without token", sts.AccessKeyID, sts.AccessKeySecret, "", &ali_mns.ERR_MNS_ACCESS_DENIED},
		{"unknown key", "LTAIunknown", "whatever", "", &ali_mns.ERR_MNS_INVALID_ACCESS_KEY_ID},
		{"wrong secret", testAKID, "not-the-secret", "", &ali_mns.ERR_MNS_SIGNATURE_DOES_NOT_MATCH},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := ali_mns.NewMNSQueue("jobs", f.newClient(tc.akid, tc.secret, tc.token))
			_, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "x"})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("SendMessage: %v", err)
				}
				return
			}
			wantErr(t, err, tc.want, "SendMessage")
		})
	}

	t.Run("sts expired", func(t *testing.T) {
		short := f.env.Credentials.IssueSTS(time.Minute)
		q := ali_mns.NewMNSQueue("jobs", f.newClient(short.AccessKeyID, short.AccessKeySecret, short.SecurityToken))
		f.env.Clock.Advance(2 * time.Minute)
		_, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "x"})
		wantErr(t, err, &ali_mns.ERR_MNS_ACCESS_DENIED, "SendMessage with expired token")
	})
}

func TestControls_ThrottleFaultDrop(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	q := f.mustCreateQueue(t, "jobs")

	f.env.Controls.SetRateLimit("mns", mnsemu.OpSendMessage, core.RateLimit{PerSecond: 0.001, Burst: 1})
	mustSend(t, q, "first")
	_, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: "second"})
	wantErr(t, err, &ali_mns.ERR_MNS_QPS_LIMIT_EXCEEDED, "throttled SendMessage")
	if n := f.env.Controls.Count("mns", mnsemu.OpSendMessage); n != 2 {
		t.Fatalf("Controls counted %d SendMessage calls, want 2", n)
	}

	f.env.Controls.SetFaults("mns", mnsemu.OpGetQueueAttributes, core.FaultSpec{ServerErrorRate: 1})
	_, err = f.qm.GetQueueAttributes("jobs")
	wantErr(t, err, &ali_mns.ERR_MNS_INTERNAL_ERROR, "faulted GetQueueAttributes")

	f.env.Controls.SetFaults("mns", mnsemu.OpReceiveMessage, core.FaultSpec{DropRate: 1})
	_, err = receive(q)
	wantErr(t, err, &ali_mns.ERR_SEND_REQUEST_FAILED, "dropped ReceiveMessage")

	f.env.Controls.Reset()
	if m := mustReceive(t, q); m.MessageBody != "first" {
		t.Fatalf("after Reset received %q", m.MessageBody)
	}
}

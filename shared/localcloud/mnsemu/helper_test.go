package mnsemu_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"
	"github.com/valyala/fasthttp"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

const (
	testAccount = "1234567890123456"
	// testEndpoint has the five labels the SDK insists on; emulatorTransport
	// sends the requests to the test server instead.
	testEndpoint = "http://" + testAccount + ".mns.cn-hangzhou.aliyuncs.com"
	testAKID     = "LTAItestkey"
	testSecret   = "testsecret"
)

// emulatorTransport is a fasthttp.RoundTripper that sends every request to
// the emulator's 127.0.0.1:port, whatever host the URL names. The SDK signs
// no host, so the request stays valid.
type emulatorTransport struct{ hc *fasthttp.HostClient }

func (t emulatorTransport) RoundTrip(_ *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (bool, error) {
	return false, t.hc.Do(req, resp)
}

// fixture is one emulator behind a real HTTP listener plus an SDK client.
type fixture struct {
	env    *core.Env
	svc    *mnsemu.Service
	srv    *httptest.Server
	client ali_mns.MNSClient
	qm     ali_mns.AliQueueManager
}

func newFixture(tb testing.TB, opts mnsemu.Options) *fixture {
	tb.Helper()
	env := core.NewEnv(testAccount, 1)
	env.Credentials.AddAccessKey(testAKID, testSecret)
	svc := mnsemu.New(env, opts)
	srv := httptest.NewServer(svc)
	tb.Cleanup(func() {
		svc.Close()
		srv.Close()
	})
	f := &fixture{env: env, svc: svc, srv: srv}
	f.client = f.newClient(testAKID, testSecret, "")
	f.qm = ali_mns.NewMNSQueueManager(f.client)
	return f
}

// newClient returns an SDK client for the given credentials (token "" for a
// permanent AccessKey) aimed at the fixture's server.
func (f *fixture) newClient(akid, secret, token string) ali_mns.MNSClient {
	c := ali_mns.NewAliMNSClientWithConfig(ali_mns.AliMNSClientConfig{
		EndPoint:        testEndpoint,
		AccessKeyId:     akid,
		AccessKeySecret: secret,
		Token:           token,
		TimeoutSecond:   ali_mns.DefaultTimeout,
	})
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	c.SetTransport(emulatorTransport{hc: &fasthttp.HostClient{Addr: addr}})
	return c
}

// mustCreateQueue creates name through the SDK and returns a handle on it.
func (f *fixture) mustCreateQueue(tb testing.TB, name string, opts ...ali_mns.QueueOption) ali_mns.AliMNSQueue {
	tb.Helper()
	if err := f.qm.CreateQueueWithOptions(name, opts...); err != nil {
		tb.Fatalf("CreateQueue(%s): %v", name, err)
	}
	return ali_mns.NewMNSQueue(name, f.client)
}

// receive calls the SDK's channel-based ReceiveMessage and returns its one
// answer. wait must be empty or positive (the SDK sends nothing for 0).
func receive(q ali_mns.AliMNSQueue, wait ...int64) (ali_mns.MessageReceiveResponse, error) {
	respCh := make(chan ali_mns.MessageReceiveResponse, 1)
	errCh := make(chan error, len(wait)+1)
	q.ReceiveMessage(respCh, errCh, wait...)
	select {
	case r := <-respCh:
		return r, nil
	case err := <-errCh:
		return ali_mns.MessageReceiveResponse{}, err
	}
}

func batchReceive(q ali_mns.AliMNSQueue, n int32, wait ...int64) (ali_mns.BatchMessageReceiveResponse, error) {
	respCh := make(chan ali_mns.BatchMessageReceiveResponse, 1)
	errCh := make(chan error, len(wait)+1)
	q.BatchReceiveMessage(respCh, errCh, n, wait...)
	select {
	case r := <-respCh:
		return r, nil
	case err := <-errCh:
		return ali_mns.BatchMessageReceiveResponse{}, err
	}
}

func peek(q ali_mns.AliMNSQueue) (ali_mns.MessageReceiveResponse, error) {
	respCh := make(chan ali_mns.MessageReceiveResponse, 1)
	errCh := make(chan error, 1)
	q.PeekMessage(respCh, errCh)
	select {
	case r := <-respCh:
		return r, nil
	case err := <-errCh:
		return ali_mns.MessageReceiveResponse{}, err
	}
}

func batchPeek(q ali_mns.AliMNSQueue, n int32) (ali_mns.BatchMessageReceiveResponse, error) {
	respCh := make(chan ali_mns.BatchMessageReceiveResponse, 1)
	errCh := make(chan error, 1)
	q.BatchPeekMessage(respCh, errCh, n)
	select {
	case r := <-respCh:
		return r, nil
	case err := <-errCh:
		return ali_mns.BatchMessageReceiveResponse{}, err
	}
}

func mustSend(tb testing.TB, q ali_mns.AliMNSQueue, body string) ali_mns.MessageSendResponse {
	tb.Helper()
	resp, err := q.SendMessage(ali_mns.MessageSendRequest{MessageBody: body})
	if err != nil {
		tb.Fatalf("SendMessage(%q): %v", body, err)
	}
	return resp
}

func mustReceive(tb testing.TB, q ali_mns.AliMNSQueue) ali_mns.MessageReceiveResponse {
	tb.Helper()
	m, err := receive(q)
	if err != nil {
		tb.Fatalf("ReceiveMessage: %v", err)
	}
	return m
}

// errTemplate is what the SDK's ERR_MNS_* values offer (by pointer).
type errTemplate interface{ IsEqual(error) bool }

// wantErr fails unless err matches the SDK error template want, e.g.
// &ali_mns.ERR_MNS_QUEUE_NOT_EXIST.
func wantErr(tb testing.TB, err error, want errTemplate, what string) {
	tb.Helper()
	if err == nil || !want.IsEqual(err) {
		tb.Fatalf("%s: err = %v, want another SDK error template", what, err)
	}
}

// signRequest signs req the way the SDK does (an independent implementation
// of alibaba-reference.md §6.2, for requests the SDK cannot produce).
func signRequest(req *http.Request, body []byte, akid, secret string) {
	sum := md5.Sum(body)
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(sum[:]))))
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/xml")
	}
	if req.Header.Get("x-mns-version") == "" {
		req.Header.Set("x-mns-version", mnsemu.APIVersion)
	}
	if req.Header.Get("Date") == "" {
		req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	var mns []string
	for k, v := range req.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-mns-") {
			mns = append(mns, lk+":"+strings.TrimSpace(v[0]))
		}
	}
	sort.Strings(mns)
	toSign := req.Method + "\n" + req.Header.Get("Content-MD5") + "\n" + req.Header.Get("Content-Type") + "\n" +
		req.Header.Get("Date") + "\n" + strings.Join(mns, "\n") + "\n" + req.URL.RequestURI()
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(toSign))
	req.Header.Set("Authorization", "MNS "+akid+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// newSignedRequest builds a signed request for resource ("/queues/...").
func newSignedRequest(tb testing.TB, base, method, resource string, body []byte) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(method, base+resource, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	signRequest(req, body, testAKID, testSecret)
	return req
}

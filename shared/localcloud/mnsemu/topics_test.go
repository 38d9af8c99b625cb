package mnsemu_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
)

func TestTopics_GoAPI(t *testing.T) {
	svc := mnsemu.New(core.NewEnv(testAccount, 1), mnsemu.Options{})
	defer svc.Close()
	tests := []struct {
		name     string
		run      func() error
		wantCode string
	}{
		{name: "create", run: func() error { _, err := svc.CreateTopic("ops", mnsemu.TopicAttributes{}); return err }},
		{name: "create again, same attributes", run: func() error { _, err := svc.CreateTopic("ops", mnsemu.TopicAttributes{}); return err }},
		{name: "create again, other attributes", run: func() error {
			_, err := svc.CreateTopic("ops", mnsemu.TopicAttributes{MaximumMessageSize: 2048})
			return err
		}, wantCode: mnsemu.CodeTopicAlreadyExist},
		{name: "bad name", run: func() error { _, err := svc.CreateTopic("-ops", mnsemu.TopicAttributes{}); return err }, wantCode: mnsemu.CodeInvalidArgument},
		{name: "subscribe to a missing topic", run: func() error {
			_, err := svc.Subscribe("nope", mnsemu.SubscriptionAttributes{Name: "s", Endpoint: "http://x"})
			return err
		}, wantCode: mnsemu.CodeTopicNotExist},
		{name: "unknown strategy", run: func() error {
			_, err := svc.Subscribe("ops", mnsemu.SubscriptionAttributes{Name: "s", Endpoint: "http://x", NotifyStrategy: "ALWAYS"})
			return err
		}, wantCode: mnsemu.CodeInvalidArgument},
		{name: "filter tag too long", run: func() error {
			_, err := svc.Subscribe("ops", mnsemu.SubscriptionAttributes{Name: "s", Endpoint: "http://x", FilterTag: strings.Repeat("t", 17)})
			return err
		}, wantCode: mnsemu.CodeInvalidArgument},
		{name: "mail endpoint accepted", run: func() error {
			_, err := svc.Subscribe("ops", mnsemu.SubscriptionAttributes{Name: "mail", Endpoint: "mail:directmail:ops@example.com"})
			return err
		}},
		{name: "publish to a missing topic", run: func() error { _, err := svc.Publish("nope", "x", "", ""); return err }, wantCode: mnsemu.CodeTopicNotExist},
		{name: "empty body", run: func() error { _, err := svc.Publish("ops", "", "", ""); return err }, wantCode: mnsemu.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if tt.wantCode == "" && err != nil || tt.wantCode != "" && !mnsemu.IsCode(err, tt.wantCode) {
				t.Fatalf("err = %v, want code %q", err, tt.wantCode)
			}
		})
	}
	// The mail subscription is recorded but not pushed.
	p, err := svc.Publish("ops", "hello", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Deliveries) != 1 || p.Deliveries[0].State != "skipped" {
		t.Fatalf("deliveries %+v", p.Deliveries)
	}
}

// A push whose body or headers were changed on the way no longer verifies.
func TestVerifyPush_RejectsTampering(t *testing.T) {
	env := core.NewEnv(testAccount, 1)
	svc := mnsemu.New(env, mnsemu.Options{})
	defer svc.Close()
	cert, err := svc.SigningCertificate()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if _, err := svc.CreateTopic("ops", mnsemu.TopicAttributes{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Subscribe("ops", mnsemu.SubscriptionAttributes{Name: "s", Endpoint: srv.URL + "/hook?x=1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Publish("ops", "run report", "attention", "http://certs.invalid/cert.pem"); err != nil {
		t.Fatal(err)
	}
	svc.WaitPushes()
	fetch := func(u string) ([]byte, error) {
		if u != "http://certs.invalid/cert.pem" {
			t.Errorf("certificate URL %q", u)
		}
		return cert, nil
	}
	tests := []struct {
		name    string
		mutate  func(r *http.Request)
		wantErr bool
	}{
		{name: "as sent", mutate: func(*http.Request) {}},
		{name: "other date", mutate: func(r *http.Request) { r.Header.Set("Date", "Mon, 01 Jan 2024 00:00:00 GMT") }, wantErr: true},
		{name: "other body digest", mutate: func(r *http.Request) { r.Header.Set("Content-MD5", "AAAA") }, wantErr: true},
		{name: "added x-mns header", mutate: func(r *http.Request) { r.Header.Set("x-mns-extra", "1") }, wantErr: true},
		{name: "no signature", mutate: func(r *http.Request) { r.Header.Del("Authorization") }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := got[0].Clone(got[0].Context())
			tt.mutate(r)
			err := mnsemu.VerifyPush(r, fetch)
			if (err != nil) != tt.wantErr {
				t.Fatalf("VerifyPush = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
	if !strings.Contains(bodies[0], "<Message>run report</Message>") || got[0].URL.RawQuery != "x=1" {
		t.Fatalf("body %s query %s", bodies[0], got[0].URL.RawQuery)
	}
}

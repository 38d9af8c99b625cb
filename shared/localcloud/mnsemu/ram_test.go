package mnsemu_test

import (
	"strings"
	"testing"
	"time"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/sgpilot/sgpilot/shared/localcloud/mnsemu"
	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

// TestRAM_RoleCredentials: a role's STS credential may send to the queue its
// policy names and nothing else; the refusal is 403 AccessDenied through the
// SDK; the root key stays unrestricted; every decision is recorded.
func TestRAM_RoleCredentials(t *testing.T) {
	f := newFixture(t, mnsemu.Options{})
	f.env.RAM = ramemu.New(ramemu.Options{Enforce: true})
	role := ramemu.RoleARN(testAccount, "sender")
	pol, err := ramemu.ParsePolicy("sender", []byte(`{"Version":"1","Statement":[{"Effect":"Allow",
		"Action":["mns:SendMessage"],"Resource":"acs:mns:cn-hangzhou:`+testAccount+`:/queues/work/messages"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	f.env.RAM.Attach(role, pol)
	for _, q := range []string{"work", "other"} {
		if err := f.svc.CreateQueue(q, mnsemu.DefaultQueueAttributes()); err != nil {
			t.Fatal(err)
		}
	}
	cred := f.env.Credentials.IssueSTSForRole(role, "fn", time.Hour)
	client := f.newClient(cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken)

	tests := []struct {
		name    string
		do      func() error
		refused bool
	}{
		{"send to granted queue", func() error {
			_, err := ali_mns.NewMNSQueue("work", client).SendMessage(ali_mns.MessageSendRequest{MessageBody: "x"})
			return err
		}, false},
		{"send to other queue", func() error {
			_, err := ali_mns.NewMNSQueue("other", client).SendMessage(ali_mns.MessageSendRequest{MessageBody: "x"})
			return err
		}, true},
		{"attributes not granted", func() error {
			_, err := ali_mns.NewMNSQueueManager(client).GetQueueAttributes("work")
			return err
		}, true},
		{"root key unrestricted", func() error {
			_, err := ali_mns.NewMNSQueue("other", f.client).SendMessage(ali_mns.MessageSendRequest{MessageBody: "x"})
			return err
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			switch {
			case tc.refused && (err == nil || !strings.Contains(err.Error(), "AccessDenied")):
				t.Errorf("err = %v, want AccessDenied", err)
			case !tc.refused && err != nil:
				t.Errorf("err = %v", err)
			}
		})
	}
	var got []string
	for _, u := range f.env.RAM.Recorder().Uses() {
		got = append(got, u.Action+" "+u.Resource[strings.LastIndex(u.Resource, ":")+1:]+" "+map[bool]string{true: "allowed", false: "denied"}[u.Allowed])
	}
	want := "mns:GetQueueAttributes /queues/work denied,mns:SendMessage /queues/other/messages denied,mns:SendMessage /queues/work/messages allowed"
	if strings.Join(got, ",") != want {
		t.Errorf("record = %q\nwant     %q", strings.Join(got, ","), want)
	}
}

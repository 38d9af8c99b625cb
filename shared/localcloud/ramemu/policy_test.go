package ramemu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sgpilot/sgpilot/shared/localcloud/ramemu"
)

const workerPolicy = `{
  "Version": "1",
  "Statement": [
    {"Effect": "Allow", "Action": ["ecs:Describe*"], "Resource": "*"},
    {"Effect": "Allow", "Action": "ecs:JoinSecurityGroup",
     "Resource": ["acs:ecs:cn-hangzhou:123:instance/*", "acs:ecs:cn-hangzhou:123:securitygroup/*"]},
    {"Effect": "Allow", "Action": ["ecs:DeleteSecurityGroup"], "Resource": "acs:ecs:cn-hangzhou:123:securitygroup/*",
     "Condition": {"StringEquals": {"acs:ResourceTag/sgpilot:managed": "true"}}},
    {"Effect": "Deny", "Action": "ecs:DeleteSecurityGroup", "Resource": "acs:ecs:cn-hangzhou:123:securitygroup/sg-keep"},
    {"Effect": "Allow", "Action": ["mns:SendMessage"], "Resource": "acs:mns:cn-hangzhou:123:/queues/work/messages"}
  ]
}`

func mustPolicy(t *testing.T, name, doc string) ramemu.Policy {
	t.Helper()
	p, err := ramemu.ParsePolicy(name, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	p := mustPolicy(t, "worker", workerPolicy)
	managed := map[string]string{"sgpilot:managed": "true"}
	sg := func(id string, tags map[string]string) ramemu.Resource {
		return ramemu.Resource{ARN: "acs:ecs:cn-hangzhou:123:securitygroup/" + id, Tags: tags}
	}
	tests := []struct {
		name     string
		req      ramemu.Request
		allowed  bool
		explicit bool
	}{
		{"wildcard action", ramemu.Request{Action: "ecs:DescribeInstances", Resources: []ramemu.Resource{{ARN: "acs:ecs:cn-hangzhou:123:instance/*"}}}, true, false},
		{"action case-insensitive", ramemu.Request{Action: "ECS:describeSecurityGroups"}, true, false},
		{"not granted", ramemu.Request{Action: "ecs:CreateSecurityGroup", Resources: []ramemu.Resource{sg("*", nil)}}, false, false},
		{"join both resources", ramemu.Request{Action: "ecs:JoinSecurityGroup", Resources: []ramemu.Resource{
			{ARN: "acs:ecs:cn-hangzhou:123:instance/i-1"}, sg("sg-1", nil)}}, true, false},
		{"join other region", ramemu.Request{Action: "ecs:JoinSecurityGroup", Resources: []ramemu.Resource{
			{ARN: "acs:ecs:cn-beijing:123:instance/i-1"}, sg("sg-1", nil)}}, false, false},
		{"delete tagged", ramemu.Request{Action: "ecs:DeleteSecurityGroup", Resources: []ramemu.Resource{sg("sg-1", managed)}}, true, false},
		{"delete untagged", ramemu.Request{Action: "ecs:DeleteSecurityGroup", Resources: []ramemu.Resource{sg("sg-1", map[string]string{"sgpilot:managed": "false"})}}, false, false},
		{"delete missing tag", ramemu.Request{Action: "ecs:DeleteSecurityGroup", Resources: []ramemu.Resource{sg("sg-1", nil)}}, false, false},
		{"explicit deny wins", ramemu.Request{Action: "ecs:DeleteSecurityGroup", Resources: []ramemu.Resource{sg("sg-keep", managed)}}, false, true},
		{"mns right queue", ramemu.Request{Action: "mns:SendMessage", Resources: []ramemu.Resource{{ARN: "acs:mns:cn-hangzhou:123:/queues/work/messages"}}}, true, false},
		{"mns other queue", ramemu.Request{Action: "mns:SendMessage", Resources: []ramemu.Resource{{ARN: "acs:mns:cn-hangzhou:123:/queues/workers/messages"}}}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ramemu.Evaluate([]ramemu.Policy{p}, tc.req)
			if d.Allowed != tc.allowed || d.Explicit != tc.explicit {
				t.Errorf("decision %+v, want allowed=%v explicit=%v", d, tc.allowed, tc.explicit)
			}
		})
	}
}

func TestParsePolicy_Refuses(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"version", `{"Version":"2","Statement":[]}`, "version"},
		{"effect", `{"Version":"1","Statement":[{"Effect":"Maybe","Action":"a:b","Resource":"*"}]}`, "effect"},
		{"operator", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"1.2.3.4"}}}]}`, "not modelled"},
		{"no resource", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"a:b"}]}`, "no Resource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ramemu.ParsePolicy("p", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestEngine_RecordsAndReports(t *testing.T) {
	rec := ramemu.NewRecorder()
	e := ramemu.New(ramemu.Options{Enforce: true, Recorder: rec})
	role := ramemu.RoleARN("123", "worker")
	e.Attach(role, mustPolicy(t, "worker", workerPolicy))
	fn := ramemu.Principal{Role: role, Session: "queue-worker"}
	e.Bind(fn)

	if err := e.Authorize(fn, ramemu.Request{Action: "ecs:DescribeInstances"}); err != nil {
		t.Fatal(err)
	}
	err := e.Authorize(fn, ramemu.Request{Action: "ecs:CreateSecurityGroup", Resources: []ramemu.Resource{{ARN: "acs:ecs:cn-hangzhou:123:securitygroup/*"}}})
	var denied *ramemu.DeniedError
	if !errors.As(err, &denied) || denied.Action != "ecs:CreateSecurityGroup" || denied.Explicit {
		t.Fatalf("err = %v", err)
	}

	rows := ramemu.Table(rec.Granted(), rec.Uses())
	find := func(action string) ramemu.Row {
		for _, r := range rows {
			if r.Action == action {
				return r
			}
		}
		t.Fatalf("no row %s in %+v", action, rows)
		return ramemu.Row{}
	}
	if r := find("ecs:Describe*"); !r.Granted || r.Used != 1 {
		t.Errorf("Describe* row %+v", r)
	}
	if r := find("ecs:CreateSecurityGroup"); r.Granted || r.Denied != 1 {
		t.Errorf("CreateSecurityGroup row %+v", r)
	}
	unused := ramemu.Unused(ramemu.Grants(rec.Granted(), rec.Uses()), func(g ramemu.Grant) string {
		if g.Action == "mns:SendMessage" {
			return "tested elsewhere"
		}
		return ""
	})
	var names []string
	for _, g := range unused {
		names = append(names, g.Action)
	}
	if got := strings.Join(names, ","); got != "ecs:JoinSecurityGroup,ecs:JoinSecurityGroup,ecs:DeleteSecurityGroup" {
		t.Errorf("unused = %s", got)
	}

	// Recording only: the refusal is recorded, the call goes through.
	e2 := ramemu.New(ramemu.Options{Recorder: rec})
	if err := e2.Authorize(fn, ramemu.Request{Action: "ecs:RunInstances"}); err != nil {
		t.Errorf("record-only engine refused: %v", err)
	}
}

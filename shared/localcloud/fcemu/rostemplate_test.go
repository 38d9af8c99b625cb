package fcemu_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

func repoFile(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadROSTemplate_Repository reads sgpilot's template.yml and checks
// it yields what s.yaml does: the same functions, triggers, async settings
// and roles, with intrinsic functions resolved.
func TestLoadROSTemplate_Repository(t *testing.T) {
	tpl := repoFile(t, "template.yml")
	stack, err := fcemu.LoadROSTemplate(tpl, fcemu.ROSOptions{AccountID: "111", Region: "cn-shanghai", CodeDir: "/code"})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := fcemu.LoadServerlessYAML(repoFile(t, "s.yaml"), map[string]string{"accountId": "111", "region": "cn-shanghai", "codeDir": "/code"})
	if err != nil {
		t.Fatal(err)
	}
	if len(stack.Functions) != len(specs) {
		t.Fatalf("template has %d functions, s.yaml %d", len(stack.Functions), len(specs))
	}
	byName := map[string]fcemu.FunctionSpec{}
	for _, s := range specs {
		s.Warnings = nil
		byName[s.Name] = s
	}
	for _, got := range stack.Functions {
		got.Warnings = nil
		want := byName[got.Name]
		// s.yaml's MNS endpoint and log settings come from vars; compare the rest.
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-s.yaml +template):\n%s", got.Name, diff)
		}
	}
	var queues []string
	for _, q := range stack.Queues {
		queues = append(queues, q.Name)
	}
	if got := strings.Join(queues, ","); got != "sgpilot-work,sgpilot-dead-letter,sgpilot-failed-events" {
		t.Errorf("queues = %s", got)
	}
	for _, r := range stack.Roles {
		if r.ARN != "acs:ram::111:role/"+r.Name || len(r.Policies) != 1 {
			t.Errorf("role %+v", r)
		}
		var doc map[string]any
		if err := json.Unmarshal(r.Policies[0].Document, &doc); err != nil || !strings.Contains(string(r.Policies[0].Document), "acs:mns:cn-shanghai:111:/queues/sgpilot-work/messages") {
			t.Errorf("role %s policy %s (%v)", r.Name, r.Policies[0].Document, err)
		}
	}

	// CreateMissingGroups=true attaches the managed policy to the worker's role.
	stack, err = fcemu.LoadROSTemplate(tpl, fcemu.ROSOptions{AccountID: "111", Region: "cn-shanghai", CodeDir: "/code",
		Parameters: map[string]string{"CreateMissingGroups": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range stack.Roles {
		if r.Name == "sgpilot-queue-worker" && (len(r.Policies) != 2 || !strings.Contains(string(r.Policies[1].Document), "ecs:CreateSecurityGroup")) {
			t.Errorf("worker role with CreateMissingGroups: %+v", r.Policies)
		}
	}
	for _, f := range stack.Functions {
		if f.Name == "queue-worker" && f.Environment["SGPILOT_CREATE_MISSING_GROUPS"] != "true" {
			t.Errorf("worker env %v", f.Environment)
		}
	}
}

func TestLoadROSTemplate_Intrinsics(t *testing.T) {
	tpl := `ROSTemplateFormatVersion: '2015-09-01'
Parameters:
  Mem: {Type: String, Default: '256'}
  On: {Type: String, Default: 'yes', AllowedValues: ['yes', 'no']}
Conditions:
  Enabled: {Fn::Equals: ['yes', {Ref: On}]}
  Disabled: {Fn::Not: [{Condition: Enabled}]}
Resources:
  Q:
    Type: ALIYUN::MNS::Queue
    Properties: {QueueName: jobs, VisibilityTimeout: 45}
  R:
    Type: ALIYUN::RAM::Role
    Properties:
      RoleName: fn-role
      Policies:
        - PolicyName: p
          PolicyDocument:
            Version: '1'
            Statement:
              - Effect: Allow
                Action: mns:SendMessage
                Resource: {Fn::Join: ['', ['acs:mns:', {Ref: ALIYUN::Region}, ':', {Ref: ALIYUN::AccountId}, ':/queues/', {Fn::GetAtt: [Q, QueueName]}, '/messages']]}
  F:
    Type: ALIYUN::FC3::Function
    Condition: Enabled
    Properties:
      FunctionName: fn
      Runtime: go1
      Handler: main
      MemorySize: {Ref: Mem}
      Timeout: 30
      Role: {Fn::GetAtt: [R, Arn]}
      EnvironmentVariables:
        QUEUE: {Fn::Sub: '${Q.QueueName}-${ALIYUN::Region}'}
        MODE: {Fn::If: [Disabled, 'off', 'on']}
  Gone:
    Type: ALIYUN::FC3::Function
    Condition: Disabled
    Properties: {FunctionName: gone, Runtime: nodejs18, Handler: index.handler}
  T:
    Type: ALIYUN::FC3::Trigger
    Condition: Enabled
    Properties:
      FunctionName: fn
      TriggerName: tick
      TriggerType: timer
      TriggerConfig: {cronExpression: '@every 5m', enable: true, payload: '{}'}
  A:
    Type: ALIYUN::FC3::AsyncInvokeConfig
    Condition: Enabled
    Properties:
      FunctionName: fn
      MaxAsyncRetryAttempts: 1
      DestinationConfig: {OnFailure: {Destination: {Fn::Sub: 'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/queues/jobs/messages'}}}
  Log:
    Type: ALIYUN::SLS::Project
    Properties: {Name: logs}
`
	path := filepath.Join(t.TempDir(), "template.yml")
	if err := os.WriteFile(path, []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	if !fcemu.IsROSTemplate([]byte(tpl)) || fcemu.IsROSTemplate([]byte("edition: 3.0.0\n")) {
		t.Fatal("IsROSTemplate")
	}
	stack, err := fcemu.LoadROSTemplate(path, fcemu.ROSOptions{AccountID: "9", Region: "cn-hangzhou", CodeDir: "/c"})
	if err != nil {
		t.Fatal(err)
	}
	want := []fcemu.FunctionSpec{{
		Name: "fn", Runtime: "go1", Handler: "main", CodeDir: "/c/fn", Region: "cn-hangzhou", MemorySize: 256, TimeoutSeconds: 30,
		Role:        "acs:ram::9:role/fn-role",
		Environment: map[string]string{"QUEUE": "jobs-cn-hangzhou", "MODE": "on"},
		Async:       fcemu.AsyncConfig{MaxAsyncRetryAttempts: fcemu.IntPtr(1), OnFailure: "acs:mns:cn-hangzhou:9:/queues/jobs/messages"},
		Triggers: []fcemu.TriggerSpec{{Name: "tick", Type: "timer", Enabled: true,
			Timer: &fcemu.TimerTrigger{CronExpression: "@every 5m", Payload: "{}"}}},
	}}
	for i := range stack.Functions {
		stack.Functions[i].Warnings = nil
	}
	if diff := cmp.Diff(want, stack.Functions); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	if len(stack.Queues) != 1 || stack.Queues[0].VisibilityTimeout != 45 {
		t.Errorf("queues %+v", stack.Queues)
	}
	if len(stack.Roles) != 1 || !strings.Contains(string(stack.Roles[0].Policies[0].Document), `"acs:mns:cn-hangzhou:9:/queues/jobs/messages"`) {
		t.Errorf("roles %+v", stack.Roles)
	}
	if !strings.Contains(strings.Join(stack.Warnings, "\n"), "ALIYUN::SLS::Project") {
		t.Errorf("warnings %q", stack.Warnings)
	}

	for _, tc := range []struct{ name, params, want string }{
		{"bad allowed value", "On=maybe", "not one of"},
		{"no code dir", "", "no code folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fcemu.ROSOptions{AccountID: "9", Region: "cn-hangzhou", CodeDir: "/c"}
			if tc.params != "" {
				k, v, _ := strings.Cut(tc.params, "=")
				opts.Parameters = map[string]string{k: v}
			} else {
				opts.CodeDir = ""
			}
			_, err := fcemu.LoadROSTemplate(path, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

package fc3schema

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRepositorySYAML is the check `make test` and `make lint` run on the
// project's own deployment file.
func TestRepositorySYAML(t *testing.T) {
	if err := CheckFile("../../../s.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestValidFixture(t *testing.T) {
	if err := CheckFile("testdata/valid.s.yaml"); err != nil {
		t.Fatal(err)
	}
}

// TestRenderMatchesSPreview holds Render to the real CLI: valid.preview.json
// is the output of `s preview -t testdata/valid.s.yaml -o json --silent` from
// @serverless-devs/s 3.1.10 (regenerate it with that command if the fixture
// changes).
func TestRenderMatchesSPreview(t *testing.T) {
	src, err := os.ReadFile("testdata/valid.s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/valid.preview.json")
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, normalize(t, got)); diff != "" {
		t.Errorf("Render differs from s preview (-preview +Render):\n%s", diff)
	}
	if err := CheckRenderedJSON("testdata/valid.preview.json"); err != nil {
		t.Errorf("CheckRenderedJSON: %v", err)
	}
}

// normalize gives doc the types encoding/json decodes to (float64 numbers).
func normalize(t *testing.T, doc any) any {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBrokenFixture shows the check failing on a broken copy of s.yaml: each
// marked mistake in testdata/broken.s.yaml is reported at its location.
func TestBrokenFixture(t *testing.T) {
	err := CheckFile("testdata/broken.s.yaml")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("CheckFile(broken) = %v, want *Error", err)
	}
	const w = "/resources/worker/props"
	for _, want := range []string{
		w + "/functionName:",
		w + "/runtime:",
		w + "/memorySize: minimum",
		w + "/memorySize: multipleOf",
		w + "/timeout:",
		w + ": additional properties 'memmorySize'",
		w + "/environmentVariables/LIMIT:",
		w + "/asyncInvokeConfig/maxAsyncRetryAttempts:",
		w + "/triggers/0/triggerConfig/eventRuleFilterPattern: not a JSON object",
		w + "/triggers/0/triggerConfig/eventSourceConfig: missing property 'eventSourceParameters'",
		w + "/triggers/0/triggerConfig/runOptions/mode:",
		w + "/triggers/0/triggerConfig/runOptions/retryStrategy/PushRetryStrategy:",
		w + "/triggers/0/triggerConfig/runOptions/errorsTolerance:",
		w + "/triggers/1/triggerName: trigger \"work-queue\" appears twice",
		w + "/triggers/1/triggerConfig/cronExpression:",
		w + "/triggers/1/triggerConfig: missing property 'enable'",
	} {
		if !hasProblem(e, want) {
			t.Errorf("no problem reported at %q; got:\n%v", want, err)
		}
	}
	if len(e.Problems) != 16 {
		t.Errorf("got %d problems, want 16:\n%v", len(e.Problems), err)
	}
}

// TestUnterminatedReferenceInPreview: s preview keeps "${vars.codeDir/x"
// as text and exits 0; the check of its output must not.
func TestUnterminatedReferenceInPreview(t *testing.T) {
	doc := map[string]any{}
	if err := json.Unmarshal([]byte(`{"edition":"3.0.0","name":"x","resources":{"f":{"component":"fc3","props":{
		"region":"cn-hangzhou","functionName":"f","runtime":"go1","handler":"main","code":"${vars.codeDir/f"}}}}`), &doc); err != nil {
		t.Fatal(err)
	}
	err := Validate(doc)
	var e *Error
	if !errors.As(err, &e) || !hasProblem(e, "at /resources/f/props/code: unrendered reference") {
		t.Fatalf("Validate = %v, want an unrendered reference at /resources/f/props/code", err)
	}
}

func hasProblem(e *Error, part string) bool {
	for _, p := range e.Problems {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}

// TestMutations changes one value of the valid fixture at a time: values the
// fc3 docs allow must pass, others must be reported at the right place.
func TestMutations(t *testing.T) {
	base, err := os.ReadFile("testdata/valid.s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const worker = "/resources/worker/props"
	const queueTrigger = worker + "/triggers/0/triggerConfig"
	tests := []struct {
		name      string
		old, new  string
		wantAt    string // "" means the mutated file is valid
		wantWords string
	}{
		{"exponential decay retry is allowed", "PushRetryStrategy: BACKOFF_RETRY", "PushRetryStrategy: EXPONENTIAL_DECAY_RETRY", "", ""},
		{"errors tolerance NONE is allowed", "errorsTolerance: ALL", "errorsTolerance: NONE", "", ""},
		{"largest memory", "memorySize: 128", "memorySize: 32768", "", ""},
		{"cron in UTC", "'CRON_TZ=Asia/Shanghai 0 0 3 * * *'", "'0 30 2 * * *'", "", ""},
		{"every 2 hours", "'@every 60m'", "'@every 2h'", "", ""},
		{"event-driven without batching", "mode: event-streaming\n              maximumTasks: 1\n              batchWindow:\n                CountBasedWindow: 100\n                TimeBasedWindow: 2\n",
			"mode: event-driven\n", "", ""},
		{"logConfig project and logstore needed", "        logstore: functions\n", "", worker + "/logConfig", "logstore"},
		{"event-driven mode cannot batch", "mode: event-streaming", "mode: event-driven", queueTrigger + "/runOptions/batchWindow", "false schema"},
		{"runOptions needs mode", "              mode: event-streaming\n", "", queueTrigger + "/runOptions", "missing property 'mode'"},
		{"count window above 10000", "CountBasedWindow: 100", "CountBasedWindow: 20000", queueTrigger + "/runOptions/batchWindow/CountBasedWindow", "maximum"},
		{"time window above 15 s", "TimeBasedWindow: 2", "TimeBasedWindow: 30", queueTrigger + "/runOptions/batchWindow/TimeBasedWindow", "maximum"},
		{"dead-letter queue needs an ARN", "Arn: acs:mns", "Url: acs:mns", queueTrigger + "/runOptions/deadLetterQueue", "Arn"},
		{"queue name required", "QueueName: ${vars.queue}", "Queue: ${vars.queue}", queueTrigger + "/eventSourceConfig/eventSourceParameters/sourceMNSParameters", "QueueName"},
		{"unknown event source", "eventSourceType: MNS", "eventSourceType: SQS", queueTrigger + "/eventSourceConfig/eventSourceType", "one of"},
		{"unknown trigger type", "triggerType: timer\n          qualifier", "triggerType: cron\n          qualifier", worker + "/triggers/1/triggerType", "one of"},
		{"timeout above a day", "timeout: 600", "timeout: 90000", worker + "/timeout", "maximum"},
		{"memory not a multiple of 64", "memorySize: 128", "memorySize: 200", "/resources/intake/props/memorySize", "multipleOf"},
		{"async retries above 8", "maxAsyncRetryAttempts: 3", "maxAsyncRetryAttempts: 10", "/resources/intake/props/asyncInvokeConfig/maxAsyncRetryAttempts", "maximum"},
		{"destination not an ARN", "destination: acs:mns:${vars.region}", "destination: mns:${vars.region}", "/resources/intake/props/asyncInvokeConfig/destinationConfig/onFailure/destination", "pattern"},
		{"Default source cannot stream", "              eventSourceType: Default\n",
			"              eventSourceType: Default\n            runOptions:\n              mode: event-streaming\n", "/resources/intake/props/triggers/0/triggerConfig/runOptions/mode", "event-driven"},
		{"unknown region", "region: cn-shanghai", "region: cn-shanghia", "/resources/intake/props/region", "one of"},
		{"component must be fc3", "component: fc3\n    props:\n      region: ${vars.region}\n      functionName: worker", "component: fc\n    props:\n      region: ${vars.region}\n      functionName: worker", "/resources/worker/component", "fc3"},
		{"edition 3.0.0", "edition: 3.0.0", "edition: 2.0.0", "/edition", "3.0.0"},
		{"timer enable must be a boolean", "enable: true", "enable: \"yes\"", worker + "/triggers/1/triggerConfig/enable", "want boolean"},
		{"duplicate function name", "functionName: worker", "functionName: intake", worker + "/functionName", "also the function of resource intake"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(base), tc.old) {
				t.Fatalf("fixture has no %q", tc.old)
			}
			src := strings.Replace(string(base), tc.old, tc.new, 1)
			doc, err := Render([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(doc)
			if tc.wantAt == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %v", err)
			}
			for _, p := range e.Problems {
				if strings.HasPrefix(p, "at "+tc.wantAt+":") && strings.Contains(p, tc.wantWords) {
					return
				}
			}
			t.Errorf("no problem at %s mentioning %q; got:\n%v", tc.wantAt, tc.wantWords, err)
		})
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    any // JSON-decoded form
		wantErr string
	}{
		{"vars refer to vars", "vars:\n  a: x\n  b: ${vars.a}-y\nv: ${vars.b}/z\n", map[string]any{"vars": map[string]any{"a": "x", "b": "x-y"}, "v": "x-y/z"}, ""},
		{"a whole reference keeps the type", "vars:\n  n: 256\n  f: false\nm: ${vars.n}\nb: ${vars.f}\ns: n=${vars.n}\n",
			map[string]any{"vars": map[string]any{"n": 256.0, "f": false}, "m": 256.0, "b": false, "s": "n=256"}, ""},
		{"missing var", "vars: {}\nv: ${vars.nope}\n", nil, "${vars.nope} not found"},
		{"env is not supported", "v: ${env('HOME')}\n", nil, "only ${vars.NAME}"},
		{"unterminated", "vars:\n  a: x\nv: ${vars.a\n", nil, "unterminated"},
		{"cycle", "vars:\n  a: ${vars.b}\n  b: ${vars.a}\n", nil, "refers to itself"},
		{"bad YAML", "a: [\n", nil, "parse YAML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render([]byte(tc.src))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, normalize(t, got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

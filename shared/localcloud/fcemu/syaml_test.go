package fcemu_test

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sgpilot/sgpilot/shared/localcloud/fcemu"
)

func TestLoadServerlessYAML_Fixture(t *testing.T) {
	getenv := func(k string) string {
		return map[string]string{"MNS_ENDPOINT": "http://127.0.0.1:9100", "ECS_ENDPOINT": "http://127.0.0.1:9200"}[k]
	}
	specs, err := fcemu.LoadServerlessYAMLWith("testdata/s.yaml", fcemu.LoadOptions{
		Vars:   map[string]string{"queue": "sg-sync-test"},
		Getenv: getenv,
	})
	if err != nil {
		t.Fatal(err)
	}
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := []fcemu.FunctionSpec{{
		Name: "sg-event-handler", Runtime: "go1", Handler: "main", CodeDir: filepath.Join(testdata, "dist", "event"),
		Region: "cn-hangzhou", MemorySize: 128, TimeoutSeconds: 60, InstanceConcurrency: 1,
		Role: "acs:ram::1234567890123456:role/sg-autojoin-fc",
		Environment: map[string]string{
			"MNS_ENDPOINT": "http://127.0.0.1:9100", "MNS_QUEUE": "sg-sync-test", "STAGE": "dev", "ECS_ENDPOINT": "http://127.0.0.1:9200",
		},
		Async: fcemu.AsyncConfig{
			MaxAsyncRetryAttempts: fcemu.IntPtr(2), MaxAsyncEventAge: time.Hour,
			OnFailure: "acs:mns:cn-hangzhou:1234567890123456:/queues/sg-dlq/messages",
		},
		Triggers: []fcemu.TriggerSpec{{
			Name: "ecs-created", Type: "eventbridge", Enabled: true,
			EventBridge: &fcemu.EventBridgeTrigger{
				AsyncInvocation: true, SourceType: "Default",
				FilterPattern: `{"source":["acs.ecs"],"type":["ecs:Instance:StateChange"]}`,
			},
		}},
	}, {
		Name: "sg-sweeper", Runtime: "go1", Handler: "main", CodeDir: filepath.Join(testdata, "dist", "sweeper"),
		Region: "cn-hangzhou", MemorySize: 256, TimeoutSeconds: 300,
		Environment: map[string]string{"LOG_LEVEL": "info"},
		Initializer: &fcemu.LifecycleHook{Handler: "main.initialize", TimeoutSeconds: 10},
		Triggers: []fcemu.TriggerSpec{{
			Name: "every-15m", Type: "timer", Enabled: true,
			Timer: &fcemu.TimerTrigger{CronExpression: "CRON_TZ=Asia/Shanghai 0 */15 * * * *", Payload: `{"mode":"sweep"}`},
		}, {
			Name: "mns-queue", Type: "eventbridge", Enabled: true,
			EventBridge: &fcemu.EventBridgeTrigger{
				SourceType: "MNS", FilterPattern: `{"source":["MNS-sg-sweeper-mns-queue"]}`,
				MNS:  &fcemu.MNSSource{QueueName: "sg-sync-test"},
				Mode: fcemu.ModeEventStreaming, ErrorsTolerance: fcemu.ToleranceAll,
				Retry:           fcemu.RetryStrategy{Policy: fcemu.RetryExponentialDecay, MaximumEventAge: time.Hour},
				DeadLetterQueue: "acs:mns:cn-hangzhou:1234567890123456:/queues/sg-stream-dlq",
				Batch:           &fcemu.BatchWindow{Count: 5, Time: 3 * time.Second}, MaximumTasks: 2,
			},
		}},
	}}
	if diff := cmp.Diff(want, specs, cmpopts.IgnoreFields(fcemu.FunctionSpec{}, "Warnings")); diff != "" {
		t.Errorf("specs (-want +got):\n%s", diff)
	}
	joined := strings.Join(specs[0].Warnings, "\n")
	for _, w := range []string{"logConfig"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning about %s in %q", w, specs[0].Warnings)
		}
	}
	if !strings.Contains(strings.Join(specs[1].Warnings, "\n"), `"http" is not modelled`) {
		t.Errorf("no warning about the http trigger: %q", specs[1].Warnings)
	}
	if got := specs[0].DestinationQueues(); strings.Join(got, ",") != "sg-dlq" {
		t.Errorf("DestinationQueues(event handler) = %q", got)
	}
	if got := specs[1].DestinationQueues(); strings.Join(got, ",") != "sg-stream-dlq" {
		t.Errorf("DestinationQueues(sweeper) = %q", got)
	}
}

func TestLoadServerlessYAML_Errors(t *testing.T) {
	base := `edition: 3.0.0
name: x
resources:
  f:
    component: fc3
    props:
      functionName: f
      runtime: go1
      handler: main
      code: ./code
`
	tests := []struct {
		name, extra, wantErr string
		getenv               func(string) string
	}{
		{name: "custom runtime", extra: "", wantErr: "custom.debian10", getenv: nil},
		{name: "layers", extra: "      layers: [acs:fc:cn-hangzhou:123:layers/x/versions/1]\n", wantErr: "layers"},
		{name: "unknown prop", extra: "      memorySise: 128\n", wantErr: `"memorySise"`},
		{name: "missing env", extra: "      environmentVariables: {A: '${env(NOPE)}'}\n", wantErr: "NOPE is not set"},
		{name: "unknown reference", extra: "      description: ${functionName}\n", wantErr: "unsupported variable reference"},
		{name: "bad cron", extra: "      triggers:\n        - {triggerName: t, triggerType: timer, triggerConfig: {cronExpression: '0 */15 * * *'}}\n", wantErr: "want 6 fields"},
		{name: "bad pattern", extra: "      triggers:\n        - {triggerName: t, triggerType: eventbridge, triggerConfig: {eventRuleFilterPattern: '{\"source\":\"acs.ecs\"}'}}\n", wantErr: "array of alternatives"},
		{name: "topic destination", extra: "      asyncInvokeConfig: {destinationConfig: {onFailure: {destination: 'acs:mns:cn-hangzhou:1:/topics/t/messages'}}}\n", wantErr: "not an MNS queue ARN"},
		{name: "unknown tolerance", extra: "mode: event-streaming, errorsTolerance: SOME", wantErr: `errorsTolerance "SOME"`},
		{name: "unknown retry policy", extra: "mode: event-streaming, retryStrategy: {PushRetryStrategy: FOREVER}", wantErr: `PushRetryStrategy "FOREVER"`},
		{name: "batch count too large", extra: "mode: event-streaming, batchWindow: {CountBasedWindow: 10001}", wantErr: "outside 1-10000"},
		{name: "batch time too long", extra: "mode: event-streaming, batchWindow: {CountBasedWindow: 10, TimeBasedWindow: 16}", wantErr: "outside 1-10000"},
		{name: "batch in event-driven mode", extra: "mode: event-driven, batchWindow: {CountBasedWindow: 10}", wantErr: "needs an MNS source in mode event-streaming"},
		{name: "unknown mode", extra: "mode: streaming", wantErr: `mode "streaming"`},
		{name: "topic dead-letter queue", extra: "mode: event-streaming, deadLetterQueue: {Arn: 'acs:mns:cn-hangzhou:1:/topics/t'}", wantErr: "not an MNS queue ARN"},
		{name: "RawData schema", extra: "      triggers:\n        - {triggerName: t, triggerType: eventbridge, triggerConfig: {eventSinkConfig: {deliveryOption: {eventSchema: RawData}}}}\n", wantErr: "RawData"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := base + tc.extra
			if strings.Contains(tc.extra, "mode:") {
				doc = base + fmt.Sprintf("      triggers:\n        - {triggerName: q, triggerType: eventbridge, triggerConfig: {eventSourceConfig: {eventSourceType: MNS, eventSourceParameters: {sourceMNSParameters: {QueueName: q}}}, runOptions: {%s}}}\n", tc.extra)
			}
			if tc.name == "custom runtime" {
				doc = strings.Replace(doc, "runtime: go1", "runtime: custom.debian10", 1)
			}
			path := filepath.Join(t.TempDir(), "s.yaml")
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := fcemu.LoadServerlessYAMLWith(path, fcemu.LoadOptions{Getenv: tc.getenv})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadServerlessYAML_ZipCodeRuns(t *testing.T) {
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "code.zip")
	bin, err := os.ReadFile(filepath.Join(binDir, "main"))
	if err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	w, _ := zw.Create("main") // no exec bit recorded, as many tools do
	_, _ = w.Write(bin)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_ = zf.Close()
	doc := `edition: 3.0.0
name: zipped
resources:
  f:
    component: fc3
    props:
      functionName: zipped
      runtime: go1
      handler: main
      code: ./code.zip
`
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	specs, err := fcemu.LoadServerlessYAMLWith(path, fcemu.LoadOptions{UnzipDir: filepath.Join(dir, "unzipped")})
	if err != nil {
		t.Fatal(err)
	}
	e := MustEmulator(t, newEnv(), fastOptions(), specs...)
	MustDecode(t, MustInvoke(t, e, "zipped", `{"a":1}`))
}

// The project's own deployment file must load without errors.
func TestLoadServerlessYAML_ProjectFile(t *testing.T) {
	path := filepath.Join("..", "..", "..", "s.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no project s.yaml: %v", err)
	}
	specs, err := fcemu.LoadServerlessYAMLWith(path, fcemu.LoadOptions{Vars: map[string]string{"codeDir": t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	e := fcemu.New(newEnv(), fastOptions())
	defer e.Close()
	for _, s := range specs {
		if err := e.AddFunction(s); err != nil {
			t.Errorf("AddFunction(%s): %v", s.Name, err)
		}
		for _, w := range s.Warnings {
			t.Logf("%s: %s", s.Name, w)
		}
	}
	if len(specs) == 0 {
		t.Error("no functions")
	}
	var worker *fcemu.FunctionSpec
	for i := range specs {
		if specs[i].Name == "queue-worker" {
			worker = &specs[i]
		}
	}
	if worker == nil {
		t.Fatal("no queue-worker function")
	}
	want := fcemu.EventBridgeTrigger{
		SourceType: fcemu.SourceMNS, Mode: fcemu.ModeEventStreaming, ErrorsTolerance: fcemu.ToleranceAll,
		DeadLetterQueue: "acs:mns:cn-hangzhou:1234567890123456:/queues/sgpilot-failed-events", MaximumTasks: 1,
	}
	for _, tr := range worker.Triggers {
		eb := tr.EventBridge
		if tr.Name != "work-queue" || eb == nil {
			continue
		}
		got := fcemu.EventBridgeTrigger{SourceType: eb.SourceType, Mode: eb.Mode, ErrorsTolerance: eb.ErrorsTolerance,
			DeadLetterQueue: eb.DeadLetterQueue, MaximumTasks: eb.MaximumTasks}
		if diff := cmp.Diff(want, got); diff != "" || eb.Batch == nil {
			t.Errorf("work-queue trigger (-want +got):\n%s (batch window %+v)", diff, eb.Batch)
		}
		if q := worker.DestinationQueues(); !strings.Contains(strings.Join(q, ","), "sgpilot-failed-events") {
			t.Errorf("queue-worker destination queues = %q", q)
		}
		return
	}
	t.Error("no work-queue trigger on queue-worker")
}

// runOptions apply to event streams only: an event-driven MNS trigger loads
// with a warning that its retry, tolerance and dead-letter settings are
// ignored.
func TestLoadServerlessYAML_EventDrivenIgnoresRunOptions(t *testing.T) {
	doc := `edition: 3.0.0
name: x
resources:
  f:
    component: fc3
    props:
      functionName: f
      runtime: go1
      handler: main
      code: ./code
      triggers:
        - triggerName: q
          triggerType: eventbridge
          triggerConfig:
            eventSourceConfig:
              eventSourceType: MNS
              eventSourceParameters: {sourceMNSParameters: {QueueName: q}}
            runOptions:
              mode: event-driven
              errorsTolerance: ALL
              deadLetterQueue: {Arn: 'acs:mns:cn-hangzhou:1:/queues/dlq'}
`
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	specs, err := fcemu.LoadServerlessYAMLWith(path, fcemu.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(specs[0].Warnings, "\n"); !strings.Contains(w, "apply only with mode event-streaming") {
		t.Errorf("warnings = %q", specs[0].Warnings)
	}
}
